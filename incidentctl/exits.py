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


__all__ = ["MESSAGES", "Exit", "NoStack", "UnknownTopic", "cli_lang", "explain", "say"]
