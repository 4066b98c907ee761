"""Exit codes of ``incidentctl`` and the one-line message (with what to do next) for each failure.

Every error a command meets ends here: ``explain`` turns it into one line and a documented exit
code (README, "Command line"), so no traceback reaches the operator.
"""

from __future__ import annotations

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


def explain(exc: BaseException, *, api_url: str = "", bootstrap: str = "") -> tuple[Exit, str]:
    """The exit code and one line (what failed, what to do next) for ``exc``; never a traceback."""
    from incidentctl.api_client import ApiError  # the CLI imports lazily; so does this

    text = clean_line(exc, limit=MAX_CHARS)
    if isinstance(exc, NoStack):
        return Exit.NO_STACK, text
    if isinstance(exc, ApiError):
        if exc.status in (401, 403):
            return Exit.AUTH, (
                f"the API refused the token ({text}): set IR_API_TOKEN to the api_token in the stack's "
                "state.json (a read-only token cannot change incidents)"
            )
        if exc.status == 404:
            return Exit.NOT_FOUND, f"not found ({text}): list what exists with 'incidentctl incidents'"
        return Exit.FAILED, f"the API answered {text}"
    name = type(exc).__name__
    if name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "ReadError"):
        where = f" at {api_url}" if api_url else ""
        return Exit.UNREACHABLE, (
            f"the API{where} does not answer ({name}): check 'incidentctl status', start the stack with "
            "'incidentctl up', or point --api / IR_API_URL at a running responder"
        )
    if name in ("KafkaConnectionError", "NoBrokersAvailable", "KafkaTimeoutError"):
        where = f" at {bootstrap}" if bootstrap else ""
        return Exit.UNREACHABLE, (
            f"the broker{where} does not answer: check 'incidentctl status', start the stack with "
            "'incidentctl up', or give --bootstrap / KAFKA_BOOTSTRAP_SERVERS"
        )
    if isinstance(exc, LookupError):
        return Exit.NOT_FOUND, text
    if isinstance(exc, ValueError | ConfigurationError | DataError):
        return Exit.USAGE, text
    if isinstance(exc, FileNotFoundError):
        return Exit.NOT_FOUND, text
    if isinstance(exc, TimeoutError | RuntimeError):
        return Exit.FAILED, text
    return Exit.FAILED, f"{name}: {text} (run with LOG_LEVEL=DEBUG for details)"


__all__ = ["Exit", "NoStack", "UnknownTopic", "explain"]
