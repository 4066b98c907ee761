# ruff: noqa: E501  (translation tables: one sentence per line reads and diffs better than split literals)
"""Report wording in English and Korean (one table per language, same keys)."""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["en", "ko"]

EN: Final[dict[str, str]] = {
    "title": "Incident report",
    "summary": "Summary",
    "severity": "Severity",
    "severity_why": "Why this severity",
    "impact": "Impact window",
    "timeline": "Timeline",
    "compliance": "Response-target compliance",
    "rca": "Root-cause ranking",
    "charts": "Key metrics around the incident",
    "improvements": "Improvement plan",
    "target": "Target",
    "status": "Status",
    "opened": "Opened",
    "resolved": "Resolved",
    "duration": "Duration",
    "recovery": "Automatic recovery",
    "generated": "Generated",
    "time": "Time",
    "topic": "Topic",
    "event": "Event",
    "details": "Details",
    "actor": "By",
    "rank": "#",
    "entity": "Entity",
    "signal": "Signal",
    "score": "Score",
    "evidence": "Evidence",
    "start": "start",
    "end": "end",
    "ongoing": "ongoing",
    "none": "none",
    "met": "met",
    "missed": "missed",
    "unknown": "not measured (no response yet)",
    "not_needed": "not needed (resolved automatically within the target)",
    "compliance_line": "Severity {severity}: target {target}; first response after {response} ({by}) - {verdict}.",
    "compliance_breached": "A response-target breach was recorded.",
    "compliance_automatic": "Automatic recovery began after {after} ({by}); it does not count as a response.",
    "target_immediate": "immediate (within {limit})",
    "target_within": "within {limit}",
    "chart_caption": "{series}: shaded = impact window, red marks = detector anomalies.",
    "chart_note": "unit {unit}; shaded = impact window, red marks = detector anomalies.",
    "no_charts": "No metrics were available for this window.",
    "no_ranking": "No root-cause candidate was found.",
    "summary_line": (
        "{title}: a {severity} incident on {target}, opened {opened}, {resolved_part}. "
        "Most likely cause: {cause}. Automatic recovery: {recovery}."
    ),
    "resolved_after": "resolved after {duration}",
    "still_open": "still open",
    "fault_line": "Injected fault (chaos record): {fault}.",
    "rec_verified": "verified (target healthy again)",
    "rec_failed": "failed (escalated to humans)",
    "rec_running": "in progress",
    "rec_none": "not attempted",
    "cat_threshold": "Threshold",
    "cat_noisy": "Noisy alert",
    "cat_silent": "Silent alert",
    "cat_follow-up": "Follow-up",
    "noisy_threshold": (
        "Rule {rule} fired {fired} times, {linked} of them part of an incident: raise its threshold "
        "from {current} to {suggested}."
    ),
    "noisy_rule": "Rule {rule} fired {fired} times, {linked} of them part of an incident: add a duration or mute it.",
    "silent_signal_threshold": (
        "No alert fired on {entity} {signal} although it was a top cause: add a rule {signal} {op} {suggested}."
    ),
    "silent_signal": "No alert fired on {entity} {signal} although it was a top cause: add a rule for it.",
    "whatif_set": (
        "Test {suggested} on this incident's window: copy {stack}/config/ to {config}, set `{change}` on rule "
        "{rule_name} in the rules: of its detector.yaml (a rules: list replaces the defaults: list them all), "
        "then run `{command}`."
    ),
    "whatif_add": (
        "Test {suggested} on this incident's window: copy {stack}/config/ to {config}, add `{change}` to the rules: "
        "of its detector.yaml (a rules: list replaces the defaults: list them all), then run `{command}`."
    ),
    "investigate": "Investigate {entity} ({signal}) and fix the underlying defect.",
    "recovery_failed": "Automatic recovery failed ({detail}): review the runbook and the declared actions.",
    "no_recovery": "No automatic recovery ran: declare a recovery action for {target} if one is safe.",
    "response_missed": "The {severity} response target ({target} s) was missed: review paging and on-call.",
    "recurring": "This incident recurs (previous: {previous}): open a problem record.",
    "postmortem": "Hold a blameless review of {target} and track these actions to closure.",
}

KO: Final[dict[str, str]] = {
    "title": "장애 보고서",
    "summary": "요약",
    "severity": "심각도",
    "severity_why": "심각도 판단 근거",
    "impact": "영향 시간대",
    "timeline": "타임라인",
    "compliance": "대응 목표 준수",
    "rca": "근본 원인 순위",
    "charts": "장애 전후 주요 지표",
    "improvements": "개선 계획",
    "target": "대상",
    "status": "상태",
    "opened": "발생",
    "resolved": "해결",
    "duration": "지속 시간",
    "recovery": "자동 복구",
    "generated": "생성 시각",
    "time": "시각",
    "topic": "토픽",
    "event": "이벤트",
    "details": "내용",
    "actor": "주체",
    "rank": "순위",
    "entity": "개체",
    "signal": "신호",
    "score": "점수",
    "evidence": "근거",
    "start": "시작",
    "end": "종료",
    "ongoing": "진행 중",
    "none": "없음",
    "met": "준수",
    "missed": "미준수",
    "unknown": "측정 불가 (아직 대응 없음)",
    "not_needed": "불필요 (목표 시간 내 자동 해결)",
    "compliance_line": "심각도 {severity}: 목표 {target}; 최초 대응까지 {response} ({by}) - {verdict}.",
    "compliance_breached": "대응 목표 위반이 기록되었습니다.",
    "compliance_automatic": "자동 복구가 {after} 후 시작되었습니다({by}). 이는 대응으로 계산되지 않습니다.",
    "target_immediate": "즉시 ({limit} 이내)",
    "target_within": "{limit} 이내",
    "chart_caption": "{series}: 음영 = 영향 시간대, 빨간 표시 = 탐지된 이상.",
    "chart_note": "단위 {unit}; 음영 = 영향 시간대, 빨간 표시 = 탐지된 이상.",
    "no_charts": "이 시간대의 지표가 없습니다.",
    "no_ranking": "근본 원인 후보를 찾지 못했습니다.",
    "summary_line": (
        "{title}: {target}에서 {severity} 장애가 {opened}에 발생했고 {resolved_part}. "
        "가장 유력한 원인: {cause}. 자동 복구: {recovery}."
    ),
    "resolved_after": "{duration} 후 해결되었습니다",
    "still_open": "아직 해결되지 않았습니다",
    "fault_line": "주입된 장애 (카오스 기록): {fault}.",
    "rec_verified": "검증됨 (대상 정상화)",
    "rec_failed": "실패 (담당자에게 에스컬레이션)",
    "rec_running": "진행 중",
    "rec_none": "시도하지 않음",
    "cat_threshold": "임계값",
    "cat_noisy": "과다 알림",
    "cat_silent": "누락 알림",
    "cat_follow-up": "후속 조치",
    "noisy_threshold": (
        "규칙 {rule}이(가) {fired}회 발생했으나 장애와 연결된 것은 {linked}회입니다: "
        "임계값을 {current}에서 {suggested}(으)로 올리십시오."
    ),
    "noisy_rule": (
        "규칙 {rule}이(가) {fired}회 발생했으나 장애와 연결된 것은 {linked}회입니다: 지속 조건을 추가하거나 끄십시오."
    ),
    "silent_signal_threshold": (
        "{entity}의 {signal}은(는) 주요 원인이었지만 알림이 없었습니다: "
        "규칙 {signal} {op} {suggested}을(를) 추가하십시오."
    ),
    "silent_signal": "{entity}의 {signal}은(는) 주요 원인이었지만 알림이 없었습니다: 규칙을 추가하십시오.",
    "whatif_set": (
        "이 장애의 구간에서 {suggested}을(를) 시험하려면: {stack}/config/를 {config}(으)로 복사하고, 그 detector.yaml의 "
        "rules:에서 규칙 {rule_name}에 `{change}`를 설정한 뒤(rules: 목록은 기본 규칙을 대체하므로 모두 나열) "
        "`{command}`를 실행하십시오."
    ),
    "whatif_add": (
        "이 장애의 구간에서 {suggested}을(를) 시험하려면: {stack}/config/를 {config}(으)로 복사하고, 그 detector.yaml의 "
        "rules:에 `{change}`를 추가한 뒤(rules: 목록은 기본 규칙을 대체하므로 모두 나열) `{command}`를 실행하십시오."
    ),
    "investigate": "{entity} ({signal})을(를) 조사하여 근본 결함을 수정하십시오.",
    "recovery_failed": "자동 복구 실패 ({detail}): 런북과 선언된 복구 조치를 검토하십시오.",
    "no_recovery": "자동 복구가 실행되지 않았습니다: 안전하다면 {target}에 복구 조치를 선언하십시오.",
    "response_missed": "{severity} 대응 목표({target}초)를 지키지 못했습니다: 호출 및 당번 체계를 검토하십시오.",
    "recurring": "재발한 장애입니다 (이전: {previous}): 문제 관리 기록을 여십시오.",
    "postmortem": "{target}에 대해 비난 없는 회고를 진행하고 조치 항목을 끝까지 추적하십시오.",
}

# Labels of the contract's enums and the system's actors.
EN.update(
    {
        "sev_critical": "CRITICAL",
        "sev_major": "MAJOR",
        "sev_minor": "MINOR",
        "st_triggered": "triggered",
        "st_acknowledged": "acknowledged",
        "st_resolved": "resolved",
        "actor_recovery": "recovery",
        "actor_rca": "rca",
        "actor_chaos": "chaos",
        "actor_responder": "responder",
        "actor_system": "system",
        "ak_threshold": "threshold",
        "ak_statistical": "statistical",
        "ak_target_down": "target down",
        "ak_degradation": "degradation",
        "ak_log_pattern": "log pattern",
        "ak_external": "external alert",
        "by_incident.acknowledged": "acknowledgement",
        "by_recovery.step_started": "automatic recovery step",
        "by_incident.resolved": "resolution",
        "by_-": "-",
    }
)
KO.update(
    {
        "sev_critical": "심각(Critical)",
        "sev_major": "주요(Major)",
        "sev_minor": "경미(Minor)",
        "st_triggered": "발생",
        "st_acknowledged": "확인됨",
        "st_resolved": "해결됨",
        "actor_recovery": "자동 복구",
        "actor_rca": "원인 분석",
        "actor_chaos": "카오스 실험",
        "actor_responder": "대응 서비스",
        "actor_system": "시스템",
        "ak_threshold": "임계값",
        "ak_statistical": "통계 탐지",
        "ak_target_down": "대상 중단",
        "ak_degradation": "성능 저하",
        "ak_log_pattern": "로그 패턴",
        "ak_external": "외부 알림",
        "by_incident.acknowledged": "확인",
        "by_recovery.step_started": "자동 복구 단계",
        "by_incident.resolved": "해결",
        "by_-": "-",
    }
)

# Timeline rows (``services.rca.report.timeline``): one sentence per row key.
EN.update(
    {
        "tl_incident": "{reason} (severity {severity}, status {status})",
        "tl_incident_team": "{reason} (severity {severity}, status {status}, team {team})",
        "tl_anomaly": "{summary} [{kind}, {signal}, score {score}]",
        "tl_notifications": "{count} notification(s) sent to {teams} via {channels}",
        "tl_notifications_outcome": "{count} notification(s) sent to {teams} via {channels}: {delivered} delivered, "
        "{failed} failed",
        "tl_plan": "recovery plan {plan}: {rationale}",
        "tl_step_ok": "step {index} {action} (ok){detail}",
        "tl_step_failed": "step {index} {action} (failed){detail}",
        "tl_recovery_ok": "recovery (ok){detail}",
        "tl_recovery_failed": "recovery (failed){detail}",
        "tl_rca": "top cause {entity} / {signal} (score {score})",
        "tl_rca_none": "no root-cause candidate",
        "tl_command_text": "{text}",
        "tl_command.acknowledge": "acknowledgement requested",
        "tl_command.resolve": "resolution requested",
        "tl_command.note": "note requested",
        "tl_command.rca": "root-cause analysis requested",
        "tl_fault": "fault {fault} injected into {target}{detail}",
        "ev_anomaly.detected": "anomaly detected",
        "ev_anomaly.updated": "anomaly updated",
        "ev_anomaly.resolved": "anomaly resolved",
        "ev_incident.opened": "incident opened",
        "ev_incident.updated": "incident updated",
        "ev_incident.acknowledged": "acknowledged",
        "ev_incident.escalated": "escalated",
        "ev_incident.response_target_breached": "response target missed",
        "ev_incident.note_added": "note",
        "ev_incident.resolved": "resolved",
        "ev_notification.dispatched": "notification",
        "ev_notification.delivered": "notification delivered",
        "ev_notification.failed": "notification failed",
        "ev_notification.*": "notifications",
        "ev_recovery.planned": "recovery planned",
        "ev_recovery.step_started": "recovery step started",
        "ev_recovery.step_completed": "recovery step done",
        "ev_recovery.verified": "recovery verified",
        "ev_recovery.failed": "recovery failed",
        "ev_rca.completed": "root cause ranked",
        "ev_chaos.fault_injected": "fault injected",
        "ev_command.acknowledge": "acknowledge command",
        "ev_command.resolve": "resolve command",
        "ev_command.note": "note command",
        "ev_command.rca": "RCA command",
    }
)
KO.update(
    {
        "tl_incident": "{reason} (심각도 {severity}, 상태 {status})",
        "tl_incident_team": "{reason} (심각도 {severity}, 상태 {status}, 담당 {team})",
        "tl_anomaly": "{summary} [{kind}, {signal}, 점수 {score}]",
        "tl_notifications": "알림 {count}건을 {teams}에 {channels}(으)로 발송",
        "tl_notifications_outcome": "알림 {count}건을 {teams}에 {channels}(으)로 발송: 전달 {delivered}건, 실패 {failed}건",
        "tl_plan": "복구 계획 {plan}: {rationale}",
        "tl_step_ok": "단계 {index} {action} (성공){detail}",
        "tl_step_failed": "단계 {index} {action} (실패){detail}",
        "tl_recovery_ok": "복구 (성공){detail}",
        "tl_recovery_failed": "복구 (실패){detail}",
        "tl_rca": "최상위 원인 {entity} / {signal} (점수 {score})",
        "tl_rca_none": "근본 원인 후보 없음",
        "tl_command_text": "메모: {text}",
        "tl_command.acknowledge": "확인 요청",
        "tl_command.resolve": "해결 요청",
        "tl_command.note": "메모 요청",
        "tl_command.rca": "근본 원인 분석 요청",
        "tl_fault": "장애 {fault}을(를) {target}에 주입{detail}",
        "ev_anomaly.detected": "이상 탐지",
        "ev_anomaly.updated": "이상 갱신",
        "ev_anomaly.resolved": "이상 해소",
        "ev_incident.opened": "장애 발생",
        "ev_incident.updated": "장애 갱신",
        "ev_incident.acknowledged": "확인",
        "ev_incident.escalated": "에스컬레이션",
        "ev_incident.response_target_breached": "대응 목표 미준수",
        "ev_incident.note_added": "메모",
        "ev_incident.resolved": "해결",
        "ev_notification.dispatched": "알림",
        "ev_notification.delivered": "알림 전달",
        "ev_notification.failed": "알림 실패",
        "ev_notification.*": "알림",
        "ev_recovery.planned": "복구 계획",
        "ev_recovery.step_started": "복구 단계 시작",
        "ev_recovery.step_completed": "복구 단계 완료",
        "ev_recovery.verified": "복구 검증",
        "ev_recovery.failed": "복구 실패",
        "ev_rca.completed": "원인 분석 완료",
        "ev_chaos.fault_injected": "장애 주입",
        "ev_command.acknowledge": "확인 명령",
        "ev_command.resolve": "해결 명령",
        "ev_command.note": "메모 명령",
        "ev_command.rca": "원인 분석 명령",
    }
)

# The improvement plan: the manual's 5.2 list, follow-up actions, and prompts where the data is silent.
EN.update(
    {
        "sec_monitoring": "1. Monitoring",
        "sec_system": "2. System",
        "sec_process": "3. Process",
        "cat_thresholds": "Thresholds",
        "cat_alert_rules": "Alert rules",
        "cat_resources": "Resource optimisation",
        "cat_architecture": "Architecture",
        "cat_performance": "Performance",
        "cat_automation": "Automation",
        "cat_documentation": "Reports and documentation",
        "cat_procedures": "Procedures",
        "cat_training": "Training",
        "item": "Item",
        "owner": "Owner",
        "due": "Due",
        "state": "State",
        "action_id": "Action",
        "state_open": "open",
        "state_done": "done",
        "owner_team": "{team}",
        "plan_intro": "Follow-up actions: each has an owner team (L1 operations, L2 service engineers, L3 development), "
        "a due date from the severity and a state; the command incidentctl actions lists them.",
        "prompt_mark": "to fill in by the owner",
        "prompt_thresholds": (
            "No threshold change follows from this incident's data; check the limits of {target}'s rules."
        ),
        "prompt_alert_rules": (
            "No missing or noisy alert rule shows in the data; check that the alerts reached the right people."
        ),
        "prompt_resources": (
            "No CPU, memory or disk came near its limit; note any capacity or quota concern for {target}."
        ),
        "prompt_architecture": "Note what in {target}'s design let this fault reach users (single points of failure, "
        "dependencies).",
        "prompt_performance": "No latency degradation was measured; note any performance work {target} needs.",
        "prompt_automation": "Note which manual step of this incident could be automated.",
        "prompt_documentation": "Complete this report: customer impact, decisions taken, and links to tickets.",
        "prompt_procedures": "Note any step of the response procedure that was unclear or slow.",
        "prompt_training": (
            "Note what the responders needed to know and did not (training, drills, runbook walkthroughs)."
        ),
        "resource_saturation": "{entity} {metric} reached {peak}% (limit {limit}%) during the incident: review its "
        "capacity, limits and the consumer using it.",
        "latency_degraded": "{entity} p95 latency rose from {before} ms to {peak} ms ({ratio}x): profile the slow path "
        "and set a latency objective.",
        "recurrence": "{count} earlier incident(s) of {target} had the same top cause {entity} / {signal} ({previous}): "
        "fix the design, not the symptom.",
        "escalated": "The incident was escalated to {teams}: review the escalation path and the L1 runbook.",
        "recovery_worked": "Automatic recovery restored {target}: keep its catalog action and its verification.",
        "postmortem": "Complete this report and hold a blameless review of {target}; track these actions to closure.",
    }
)
KO.update(
    {
        "sec_monitoring": "1. 모니터링",
        "sec_system": "2. 시스템",
        "sec_process": "3. 프로세스",
        "cat_thresholds": "임계값",
        "cat_alert_rules": "알림 규칙",
        "cat_resources": "자원 최적화",
        "cat_architecture": "아키텍처",
        "cat_performance": "성능",
        "cat_automation": "자동화",
        "cat_documentation": "보고서 및 문서화",
        "cat_procedures": "절차",
        "cat_training": "교육",
        "item": "항목",
        "owner": "담당",
        "due": "기한",
        "state": "상태",
        "action_id": "조치",
        "state_open": "진행 중",
        "state_done": "완료",
        "owner_team": "{team}",
        "plan_intro": "후속 조치: 각 항목에는 담당 팀(L1 운영, L2 서비스 엔지니어, L3 개발), 심각도에 따른 기한과 상태가 있으며 "
        "incidentctl actions 명령으로 조회합니다.",
        "prompt_mark": "담당자 작성 필요",
        "prompt_thresholds": "이번 장애 데이터에서 도출된 임계값 변경은 없습니다. {target} 규칙의 한계값을 확인하십시오.",
        "prompt_alert_rules": "누락되거나 과다한 알림 규칙은 보이지 않습니다. 알림이 올바른 담당자에게 전달되었는지 확인하십시오.",
        "prompt_resources": "CPU, 메모리, 디스크가 한계에 근접하지 않았습니다. {target}의 용량이나 할당량 우려 사항을 기록하십시오.",
        "prompt_architecture": "{target} 설계에서 이 장애가 사용자에게 도달하게 한 요인(단일 장애점, 의존성)을 기록하십시오.",
        "prompt_performance": "성능 저하는 측정되지 않았습니다. {target}에 필요한 성능 개선 작업을 기록하십시오.",
        "prompt_automation": "이번 장애 대응 중 자동화할 수 있는 수동 단계를 기록하십시오.",
        "prompt_documentation": "이 보고서를 완성하십시오: 고객 영향, 결정 사항, 관련 티켓 링크.",
        "prompt_procedures": "대응 절차 중 불명확하거나 느렸던 단계를 기록하십시오.",
        "prompt_training": "대응자에게 필요했지만 부족했던 지식(교육, 모의 훈련, 런북 숙지)을 기록하십시오.",
        "resource_saturation": "장애 중 {entity}의 {metric}이(가) {peak}%에 도달했습니다(한계 {limit}%): 용량, 한도, "
        "사용 주체를 검토하십시오.",
        "latency_degraded": "{entity}의 p95 지연이 {before} ms에서 {peak} ms로 증가했습니다({ratio}배): 느린 경로를 "
        "분석하고 지연 목표를 정하십시오.",
        "recurrence": "{target}에서 같은 최상위 원인 {entity} / {signal}의 이전 장애가 {count}건 있었습니다({previous}): "
        "증상이 아니라 설계를 고치십시오.",
        "escalated": "장애가 {teams}(으)로 에스컬레이션되었습니다: 에스컬레이션 경로와 L1 런북을 검토하십시오.",
        "recovery_worked": "자동 복구가 {target}을(를) 정상화했습니다: 해당 카탈로그 조치와 검증을 유지하십시오.",
        "postmortem": "이 보고서를 완성하고 {target}에 대해 비난 없는 회고를 진행하십시오. 조치 항목을 끝까지 추적하십시오.",
    }
)

TABLES: Final[dict[str, dict[str, str]]] = {"en": EN, "ko": KO}


def text(lang: str, key: str, **params: object) -> str:
    """Return the ``key`` text in ``lang`` (English when missing) with ``params`` filled in."""
    table = TABLES.get(lang, EN)
    template = table.get(key) or EN.get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def duration(seconds: float | None, lang: str) -> str:
    """Format a duration such as ``1h 02m 03s`` (``1시간 2분 3초`` in Korean)."""
    if seconds is None:
        return text(lang, "ongoing")
    total = round(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    if lang == "ko":
        parts = [f"{h}시간" if h else "", f"{m}분" if m else "", f"{s}초" if s or not (h or m) else ""]
    else:
        parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s or not (h or m) else ""]
    return " ".join(p for p in parts if p)
