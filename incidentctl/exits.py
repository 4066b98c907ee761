"""Exit codes of ``incidentctl`` and the one-line message (with what to do next) for each failure.

Every error a command meets ends here: ``explain`` turns it into one line and a documented exit
code (README, "Command line"), so no traceback reaches the operator. The lines, and the fixed status
lines of ``up`` and ``down``, come from `MESSAGES`: English, or Korean when ``IR_LANG=ko`` (or, without
``IR_LANG``, when ``LANG`` starts with ``ko``); names, paths and the failing library's own text stay as they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import IntEnum
from typing import Final

from shared.errors import CliError, ConfigurationError, DataError
from shared.text import clean_line


class Exit(IntEnum):
    """The documented exit codes (README, "Command line")."""

    OK = 0
    FAILED = 1  # the command ran and found something wrong (status unwell, scenario incomplete), or failed
    USAGE = 2  # a bad argument: unknown topic, bad time window, unsafe id, bad config file
    NOT_FOUND = 3  # the incident, report or dead letter named does not exist
    AUTH = 4  # the API refused the token
    NO_STACK = 5  # no stack runs under --dir (none started, or a stale one left by a reboot)
    UNREACHABLE = 6  # the API or the broker does not answer
    INTERRUPTED = 130  # Ctrl-C


class NoStack(CliError, FileNotFoundError):
    """No running stack under the folder: none was started, or its processes are gone (a reboot)."""


class UnknownTopic(CliError, ValueError):
    """A topic name that is not in the event contract."""


MAX_CHARS: Final = 400

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        # errors: `explain`
        "no_stack": "{text}",
        "usage": "{text}",
        "not_found": "{text}",
        "failed": "{text}",
        "auth": "the API refused the token ({text}): set IR_API_TOKEN to the api_token in the stack's "
        "state.json (a read-only token cannot change incidents)",
        "api_not_found": "not found ({text}): list what exists with 'incidentctl incidents'",
        "api_answered": "the API answered {text}",
        "api_down": "the API{where} does not answer ({name}): check 'incidentctl status', start the stack with "
        "'incidentctl up', or point --api / IR_API_URL at a running responder",
        "broker_down": "the broker{where} does not answer: check 'incidentctl status', start the stack with "
        "'incidentctl up', or give --bootstrap / KAFKA_BOOTSTRAP_SERVERS",
        "where": " at {at}",
        "bad_argument": "{message} (see '{prog} --help')",
        "unexpected": "{name}: {text} (run with LOG_LEVEL=DEBUG for details)",
        # status lines of `up` and `down`
        "up_running": "a stack already runs under {root}: console {url}/ (stop it with 'incidentctl down')",
        "up_stale": "removing the stale state of a stack that no longer runs under {root} (e.g. after a reboot)",
        "up_console": "console: {url}/   {hint}",
        "up_demo": "demo service: {url}/   try: incidentctl chaos crash",
        "up_detached": "running in the background; stop with: incidentctl down",
        "up_stopping": "stopping ...",
        "down_none": "no stack runs under {root}: nothing to stop",
        "down_stale": "the stack under {root} was no longer running (e.g. after a reboot): its stale state is removed",
        "down_done": "stopped the stack under {root} in {seconds:.1f}s",
        # the other commands' fixed words; table headings are "|"-separated
        "chaos_injected": "injected {fault} at {at}",
        "dlq_redriven_one": "re-driven {line}",
        "dlq_redriven": "{count} dead letter(s) re-driven to {topic}",
        "dlq_count": "{topic}.dlq: {count} dead letter(s)",
        "dlq_row": "  offset {offset:<6} {at}  from {origin}  {reason}",
        "dlq_one": "dead letter {topic} partition {partition} offset {offset}",
        "dlq_key": "  key: {value}",
        "dlq_no_key": "(none)",
        "dlq_payload": "  payload ({size} bytes): {preview}{more}",
        "dlq_more": " … ({count} more bytes)",
        "topics_created": "created {count} topics: {names}",
        "topics_all_existed": "(all existed)",
        "topics_head": "| topic | key | partitions | producer | events | what |",
        "topics_binary": "(binary)",
        "topics_compacted": " (compacted)",
        "inc_head": "ID|SEVERITY|STATUS|OPENED (UTC)|TARGET|OWNER|TITLE",
        "inc_team": "team {team}",
        "inc_none": "",
        "tl_target": "target {target}  opened {opened}",
        "tl_acked": "  acknowledged {at} by {by}",
        "tl_resolved": "  resolved {at} by {by}",
        "tl_rca": "root-cause candidates:",
        "oncall_nobody_now": "nobody (pages go to the team's channels)",
        "oncall_nobody": "nobody",
        "oncall_next": "; next {person} from {since} UTC",
        "st_head": "PROCESS|PID|STATE|RESTARTS|LAST EVENT|DETAIL",
        "st_done": "done",
        "st_down": "DOWN",
        "st_running": "running",
        "st_no_answer": "NO ANSWER",
        "st_stalled": "STALLED",
        "st_ready": "ready",
        "st_starting": "STARTING",
        "st_never": "never",
        "st_ago_s": "{n:.0f}s ago",
        "st_ago_h": "{n:.1f}h ago",
        "st_last_exit": "last exit {code}",
        "st_joined": "joined",
        "st_joining": "JOINING",
        "st_lag": "lag {lag}  (group {group})",
        "st_no_partitions": "no partitions",
        "act_head": "ACTION|INCIDENT|OWNER|DUE|STATE|TOPIC|WHAT",
        "act_none": "no follow-up actions",
        "act_done": "{action}: done ({actor})",
        "sc_injecting": "injecting fault {fault} into {target}",
        "sc_starting": "starting embedded Kafka + Elasticsearch (noida-db) in {data} and the services, supervised",
        "sc_stopped": "stopped the stack (supervisor pid {pid})",
        "sc_estate_skipped": "estate skipped: {reason}",
        "sc_estate_started": "estate: PostgreSQL primary :{primary} and standby :{standby}, HAProxy :{proxy},"
        " backups every {every:g}s into {backups} ({seconds:.1f}s)",
        "sc_ok": "ok",
        "sc_fault": "fault",
        "sc_target": "target",
        "sc_incident_id": "incident_id",
        "sc_severity": "severity",
        "sc_timestamps": "timestamps",
        "sc_seconds_after_fault": "seconds_after_fault",
        "sc_incident_resolved": "incident_resolved",
        "sc_rca_top_cause": "rca_top_cause",
        "sc_report_path": "report_path",
        "sc_anomalies": "anomalies",
        "sc_missing": "missing",
        "sc_severity_changes": "severity_changes",
        "sc_paged_teams": "paged_teams",
        "sc_actions_run": "actions_run",
        "sc_approvals": "approvals",
        "sc_fault_check": "fault_check",
        "sc_problems": "problems",
        "sc_incidents_seen": "incidents_seen",
        "sc_wall_seconds": "wall_seconds",
        "wi_head": "|TARGET|ASPECT|ORIGINAL|REPLAY",
        "wi_nothing": "no incident in either run: nothing changed",
        "wi_changed": "{changed} of {total} aspects changed (* marks them)",
        "wi_incident opened": "incident opened",
        "wi_severity": "severity",
        "wi_first page after opening": "first page after opening",
        "wi_top root cause": "top root cause",
        "wi_yes": "yes {at}",
        "wi_no": "no",
        "wi_no page": "no page",
        "wi_(no analysis)": "(no analysis)",
        "wi_describe": "replayed {scrapes} scrapes of {targets} target(s){logs} ({span}) into '{into}' with {config}: "
        "{original} incident(s) originally, {replay} in the replay",
        "wi_logs": " and {count} log records",
        "wi_logs_off": " (log analysis off)",
        "wi_config": "config {dir}",
        "wi_default_config": "default config",
        "wi_open": "(open)",
        "live_title": "incidentctl live incidents",
        "live_ctrl_c": "  (Ctrl-C stops the stack)",
        "live_console": "console: ",
        "live_token": "token: api_token in {path} ('Set token', or URL#token=...)",
        "live_cols": "ID|SEV|STATUS|OPENED|TARGET|TITLE",
        "live_api_down": "API not answering: {error}",
        "live_empty": "no incidents yet; try: incidentctl chaos cpu-hog",
        "live_stopped": "the stack was stopped (incidentctl down)",
        "detect_scored": "scored {rows} rows -> {output}",
        "asyncapi_wrote": "wrote {path}",
        # the CLI's own one-line errors (the text `explain` wraps)
        "err_ratio": "--ratio goes with error-burst, in (0, 1]: e.g. incidentctl chaos error-burst --ratio 0.01",
        "err_duration": "--duration-s is a positive number of seconds, not for crash or reset: "
        "e.g. incidentctl chaos auth-attack --duration-s 60",
        "err_no_folder": "no folder {folder} to write {name} into; create it or pick another --out",
        "err_speed": "--speed {speed}: give virtual seconds per wall second, above 0 and at most 1000",
        "err_into_topics": "--into re-drives the recorded metrics of a window: give --from/--to, not topics",
        "err_config_dir": "--config {folder}: not a folder (it holds detector.yaml, responder.yaml, rca.yaml)",
        "err_no_stack": "no stack runs under {root}: start one with 'incidentctl up' (or give --dir)",
        "err_unreadable": "{path} is unreadable ({name}): run 'incidentctl up' to start afresh",
        "err_not_running": "the stack under {root} is not running (its processes are gone, e.g. after a reboot): "
        "run 'incidentctl up' (it clears the stale state)",
        "err_time": "cannot read the time {text!r}: give an ISO time (2026-05-01T14:03:00Z) or a relative one "
        "(-30m, -2h)",
        "err_window": "empty window: --from {start} is not before --to {end}",
        "err_topic": "unknown topic {name!r}: 'incidentctl topics' lists them ({known})",
        "err_no_action": "no follow-up action {action!r}; list them with: incidentctl actions --state all",
        "err_dlq_topic": "no dead-letter topic for {names} (known: {known})",
        "err_dlq_offset": "no dead letter at offset(s) {offsets}",
        "err_into_name": "--into {into!r}: use letters, digits, '.', '_' or '-' (e.g. --into whatif1.)",
        "err_into_own": "--into {into!r} is the recorded stack's own prefix: choose a new one (e.g. whatif1.)",
        "err_no_scrapes": "no recorded scrapes in that window: widen --from/--to",
        "err_into_used": "--into {into!r} already holds a replay: choose a new prefix",
        "err_no_report": "no events of incident {incident!r} on the topics: see 'incidentctl incidents'",
    },
    "ko": {
        "no_stack": "실행 중인 스택이 없습니다: {text}",
        "usage": "잘못된 인자 또는 파일입니다: {text}",
        "not_found": "찾을 수 없습니다: {text}",
        "failed": "실패했습니다: {text}",
        "auth": "API가 토큰을 거부했습니다 ({text}): IR_API_TOKEN을 스택의 state.json에 있는 api_token으로 "
        "설정하십시오 (읽기 전용 토큰으로는 장애를 변경할 수 없습니다)",
        "api_not_found": "찾을 수 없습니다 ({text}): 'incidentctl incidents'로 목록을 확인하십시오",
        "api_answered": "API 응답 오류: {text}",
        "api_down": "API{where}가 응답하지 않습니다 ({name}): 'incidentctl status'를 확인하고, 'incidentctl up'으로 "
        "스택을 시작하거나, --api / IR_API_URL을 실행 중인 responder로 지정하십시오",
        "broker_down": "브로커{where}가 응답하지 않습니다: 'incidentctl status'를 확인하고, 'incidentctl up'으로 "
        "스택을 시작하거나, --bootstrap / KAFKA_BOOTSTRAP_SERVERS를 지정하십시오",
        "where": " ({at})",
        "bad_argument": "잘못된 인자입니다: {message} ('{prog} --help'를 확인하십시오)",
        "unexpected": "예기치 않은 오류 {name}: {text} (자세한 내용은 LOG_LEVEL=DEBUG로 실행하십시오)",
        "up_running": "{root}에서 이미 스택이 실행 중입니다: 콘솔 {url}/ ('incidentctl down'으로 중지)",
        "up_stale": "{root}에서 더 이상 실행되지 않는 스택의 오래된 상태를 제거합니다 (예: 재부팅 후)",
        "up_console": "콘솔: {url}/   {hint}",
        "up_demo": "데모 서비스: {url}/   시험: incidentctl chaos crash",
        "up_detached": "백그라운드에서 실행 중입니다. 중지: incidentctl down",
        "up_stopping": "중지하는 중 ...",
        "down_none": "{root}에서 실행 중인 스택이 없습니다: 중지할 것이 없습니다",
        "down_stale": "{root}의 스택은 이미 실행 중이 아니었습니다 (예: 재부팅 후): 오래된 상태를 제거했습니다",
        "down_done": "{root}의 스택을 {seconds:.1f}초 만에 중지했습니다",
        "chaos_injected": "{fault} 장애를 {at}에 주입했습니다",
        "dlq_redriven_one": "재전송: {line}",
        "dlq_redriven": "데드 레터 {count}건을 {topic}(으)로 재전송했습니다",
        "dlq_count": "{topic}.dlq: 데드 레터 {count}건",
        "dlq_row": "  오프셋 {offset:<6} {at}  출처 {origin}  {reason}",
        "dlq_one": "데드 레터 {topic} 파티션 {partition} 오프셋 {offset}",
        "dlq_key": "  키: {value}",
        "dlq_no_key": "(없음)",
        "dlq_payload": "  페이로드 ({size}바이트): {preview}{more}",
        "dlq_more": " … (외 {count}바이트)",
        "topics_created": "토픽 {count}개를 만들었습니다: {names}",
        "topics_all_existed": "(모두 이미 있음)",
        "topics_head": "| 토픽 | 키 | 파티션 | 생산자 | 이벤트 | 설명 |",
        "topics_binary": "(바이너리)",
        "topics_compacted": " (압축)",
        "inc_head": "ID|심각도|상태|발생 (UTC)|대상|담당|제목",
        "inc_team": "{team} 팀",
        "inc_none": "장애가 없습니다",
        "tl_target": "대상 {target}  발생 {opened}",
        "tl_acked": "  확인 {at} ({by})",
        "tl_resolved": "  해결 {at} ({by})",
        "tl_rca": "근본 원인 후보:",
        "oncall_nobody_now": "없음 (호출은 팀 채널로 갑니다)",
        "oncall_nobody": "없음",
        "oncall_next": "; 다음 {person} ({since} UTC부터)",
        "st_head": "프로세스|PID|상태|재시작|최근 수신|상세",
        "st_done": "완료",
        "st_down": "중단됨",
        "st_running": "실행 중",
        "st_no_answer": "응답 없음",
        "st_stalled": "멈춤",
        "st_ready": "준비됨",
        "st_starting": "시작 중",
        "st_never": "없음",
        "st_ago_s": "{n:.0f}초 전",
        "st_ago_h": "{n:.1f}시간 전",
        "st_last_exit": "마지막 종료 코드 {code}",
        "st_joined": "참여",
        "st_joining": "참여 중",
        "st_lag": "지연 {lag}  (그룹 {group})",
        "st_no_partitions": "파티션 없음",
        "act_head": "조치|장애|담당|기한|상태|주제|내용",
        "act_none": "후속 조치가 없습니다",
        "act_done": "{action}: 완료 ({actor})",
        "sc_injecting": "{target}에 {fault} 장애를 주입합니다",
        "sc_starting": "내장 Kafka + Elasticsearch (noida-db)를 {data}에서 시작하고 서비스를 감독 하에 시작합니다",
        "sc_stopped": "스택을 중지했습니다 (감독 프로세스 pid {pid})",
        "sc_estate_skipped": "estate를 건너뜁니다: {reason}",
        "sc_estate_started": "estate: PostgreSQL 주 서버 :{primary}, 대기 서버 :{standby}, HAProxy :{proxy},"
        " {every:g}초마다 {backups}에 백업 ({seconds:.1f}초)",
        "sc_ok": "성공",
        "sc_fault": "장애",
        "sc_target": "대상",
        "sc_incident_id": "장애 ID",
        "sc_severity": "심각도",
        "sc_timestamps": "시각",
        "sc_seconds_after_fault": "장애 후 경과 초",
        "sc_incident_resolved": "장애 해결",
        "sc_rca_top_cause": "최상위 근본 원인",
        "sc_report_path": "보고서 경로",
        "sc_anomalies": "이상 징후",
        "sc_missing": "누락",
        "sc_severity_changes": "심각도 변경",
        "sc_paged_teams": "호출된 팀",
        "sc_actions_run": "실행된 조치",
        "sc_approvals": "승인",
        "sc_fault_check": "장애별 확인",
        "sc_problems": "문제",
        "sc_incidents_seen": "열린 인시던트",
        "sc_wall_seconds": "소요 초",
        "wi_head": "|대상|항목|원래|재실행",
        "wi_nothing": "어느 실행에도 장애가 없습니다: 바뀐 것이 없습니다",
        "wi_changed": "{total}개 항목 중 {changed}개가 바뀌었습니다 (* 표시)",
        "wi_incident opened": "장애 발생",
        "wi_severity": "심각도",
        "wi_first page after opening": "발생 후 첫 호출",
        "wi_top root cause": "최상위 근본 원인",
        "wi_yes": "예 {at}",
        "wi_no": "아니요",
        "wi_no page": "호출 없음",
        "wi_(no analysis)": "(분석 없음)",
        "wi_describe": "대상 {targets}개의 수집 {scrapes}건{logs}을 ({span}) '{into}'에 {config}(으)로 재실행했습니다: "
        "원래 장애 {original}건, 재실행 {replay}건",
        "wi_logs": "과 로그 레코드 {count}건",
        "wi_logs_off": " (로그 분석 꺼짐)",
        "wi_config": "설정 {dir}",
        "wi_default_config": "기본 설정",
        "wi_open": "(열림)",
        "live_title": "incidentctl 실시간 장애",
        "live_ctrl_c": "  (Ctrl-C로 스택 중지)",
        "live_console": "콘솔: ",
        "live_token": "토큰: {path}의 api_token ('Set token' 또는 URL#token=...)",
        "live_cols": "ID|심각도|상태|발생|대상|제목",
        "live_api_down": "API가 응답하지 않습니다: {error}",
        "live_empty": "아직 장애가 없습니다. 시험: incidentctl chaos cpu-hog",
        "live_stopped": "스택이 중지되었습니다 (incidentctl down)",
        "detect_scored": "{rows}행을 평가했습니다 -> {output}",
        "asyncapi_wrote": "{path}에 썼습니다",
        "err_ratio": "--ratio는 error-burst에만, (0, 1] 범위로 씁니다: 예) incidentctl chaos error-burst --ratio 0.01",
        "err_duration": "--duration-s는 양수 초이며 crash, reset에는 쓰지 않습니다: "
        "예) incidentctl chaos auth-attack --duration-s 60",
        "err_no_folder": "{name}을(를) 쓸 폴더 {folder}가 없습니다: 만들거나 다른 --out을 지정하십시오",
        "err_speed": "--speed {speed}: 실제 1초당 가상 초를 0보다 크고 1000 이하로 지정하십시오",
        "err_into_topics": "--into는 시간 구간의 기록된 메트릭을 재전송합니다: "
        "토픽이 아니라 --from/--to를 지정하십시오",
        "err_config_dir": "--config {folder}: 폴더가 아닙니다 "
        "(detector.yaml, responder.yaml, rca.yaml이 들어 있어야 합니다)",
        "err_no_stack": "{root}: 'incidentctl up'으로 시작하십시오 (또는 --dir을 지정하십시오)",
        "err_unreadable": "{path}을(를) 읽을 수 없습니다 ({name}): 'incidentctl up'으로 새로 시작하십시오",
        "err_not_running": "{root}의 스택이 실행 중이 아닙니다 (프로세스가 사라졌습니다, 예: 재부팅 후): "
        "'incidentctl up'을 실행하십시오 (오래된 상태를 지웁니다)",
        "err_time": "시각 {text!r}을(를) 읽을 수 없습니다: ISO 시각(2026-05-01T14:03:00Z)이나 상대 시각(-30m, -2h)을 "
        "지정하십시오",
        "err_window": "빈 구간입니다: --from {start}이(가) --to {end}보다 앞서지 않습니다",
        "err_topic": "알 수 없는 토픽 {name!r}: 'incidentctl topics'로 목록을 확인하십시오 ({known})",
        "err_no_action": "후속 조치 {action!r}이(가) 없습니다. 목록: incidentctl actions --state all",
        "err_dlq_topic": "{names}에 대한 데드 레터 토픽이 없습니다 (있는 것: {known})",
        "err_dlq_offset": "오프셋 {offsets}에 데드 레터가 없습니다",
        "err_into_name": "--into {into!r}: 영문자, 숫자, '.', '_', '-'만 쓰십시오 (예: --into whatif1.)",
        "err_into_own": "--into {into!r}은(는) 기록된 스택 자신의 접두사입니다: 새 접두사를 고르십시오 (예: whatif1.)",
        "err_no_scrapes": "그 구간에 기록된 수집이 없습니다: --from/--to를 넓히십시오",
        "err_into_used": "--into {into!r}에는 이미 재실행이 있습니다: 새 접두사를 고르십시오",
        "err_no_report": "토픽에 장애 {incident!r}의 이벤트가 없습니다: 'incidentctl incidents'를 확인하십시오",
    },
}
"""The CLI's fixed lines by key; ``{text}`` is the failing call's own (English) message, kept as it is."""


def cli_lang(env: Mapping[str, str] | None = None) -> str:
    """``ko`` when ``IR_LANG`` says so (or, without ``IR_LANG``, ``LANG`` starts with ``ko``); else ``en``."""
    env = os.environ if env is None else env
    chosen = env.get("IR_LANG", "").strip().lower() or env.get("LANG", "").strip().lower()
    return "ko" if chosen.startswith("ko") else "en"


def say(key: str, lang: str | None = None, **params: object) -> str:
    """The ``key`` line in ``lang`` (the environment's when None) with ``params`` filled in."""
    table = MESSAGES.get(lang or cli_lang(), MESSAGES["en"])
    return table.get(key, MESSAGES["en"][key]).format(**params)


def explain(exc: BaseException, *, api_url: str = "", bootstrap: str = "", lang: str = "en") -> tuple[Exit, str]:
    """The exit code and one line (what failed, what to do next) for ``exc`` in ``lang``; never a traceback."""
    from incidentctl.api_client import ApiError  # the CLI imports lazily; so does this

    text = clean_line(exc, limit=MAX_CHARS)
    if isinstance(exc, NoStack):
        return Exit.NO_STACK, say("no_stack", lang, text=text)
    if isinstance(exc, ApiError):
        if exc.status in (401, 403):
            return Exit.AUTH, say("auth", lang, text=text)
        if exc.status == 404:
            return Exit.NOT_FOUND, say("api_not_found", lang, text=text)
        return Exit.FAILED, say("api_answered", lang, text=text)
    name = type(exc).__name__
    if name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "ReadError"):
        where = say("where", lang, at=api_url) if api_url else ""
        return Exit.UNREACHABLE, say("api_down", lang, where=where, name=name)
    if name in ("KafkaConnectionError", "NoBrokersAvailable", "KafkaTimeoutError"):
        where = say("where", lang, at=bootstrap) if bootstrap else ""
        return Exit.UNREACHABLE, say("broker_down", lang, where=where)
    if isinstance(exc, LookupError):
        return Exit.NOT_FOUND, say("not_found", lang, text=text)
    if isinstance(exc, ValueError | ConfigurationError | DataError):
        return Exit.USAGE, say("usage", lang, text=text)
    if isinstance(exc, FileNotFoundError):
        return Exit.NOT_FOUND, say("not_found", lang, text=text)
    if isinstance(exc, TimeoutError | RuntimeError):
        return Exit.FAILED, say("failed", lang, text=text)
    return Exit.FAILED, say("unexpected", lang, name=name, text=text)


def heads(key: str, lang: str | None = None) -> list[str]:
    """The ``|``-separated table headings of ``key`` in ``lang``."""
    return say(key, lang).split("|")


def ljust(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal cells (Hangul takes two), like ``str.ljust`` for ASCII."""
    from rich.cells import cell_len

    return text + " " * max(0, width - cell_len(text))


def rjust(text: str, width: int) -> str:
    """``text`` padded on the left to ``width`` terminal cells, like ``str.rjust`` for ASCII."""
    from rich.cells import cell_len

    return " " * max(0, width - cell_len(text)) + text


def cells(text: str) -> int:
    """How many terminal cells ``text`` takes (Hangul takes two)."""
    from rich.cells import cell_len

    return cell_len(text)


__all__ = [
    "MESSAGES", "Exit", "NoStack", "UnknownTopic", "cells", "cli_lang", "explain", "heads", "ljust", "rjust", "say",
]  # fmt: skip
