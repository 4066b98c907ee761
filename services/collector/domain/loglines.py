"""Log lines to log records: level and timestamp from the header, multi-line stack traces kept together.

A record starts at a line that opens with a timestamp, and at any other line that does not look
like the continuation of a record. Continuations are indented lines (stack frames), and the fixed
openers of Python and Java traces (``Traceback (most recent call last):``, ``Caused by:``, the
closing ``SomethingError: message`` line, ``... 12 more``). This is the rule Filebeat's multiline
"timestamp starts an event" recipe uses, extended so that a file in an unknown format (no
recognised timestamp) still yields one record per line rather than one giant record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

UNKNOWN_LEVEL: Final = "UNKNOWN"

_LEVELS: Final[dict[str, str]] = {
    "TRACE": "TRACE",
    "FINEST": "TRACE",
    "FINER": "DEBUG",
    "FINE": "DEBUG",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "NOTICE": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERR": "ERROR",
    "ERROR": "ERROR",
    "CRIT": "CRITICAL",
    "CRITICAL": "CRITICAL",
    "SEVERE": "CRITICAL",
    "FATAL": "CRITICAL",
    "ALERT": "CRITICAL",
    "EMERG": "CRITICAL",
    "PANIC": "CRITICAL",
}
_HEADER_TOKENS: Final = 12
_KEYED_LEVEL: Final = re.compile(r"""\b(?:level|lvl|severity|loglevel)["']?\s*[=:]\s*["']?([A-Za-z]+)""", re.I)
_TOKEN_STRIP: Final = "[]():<>|,;-\"'"

_TIMESTAMP_START: Final = re.compile(
    r"""^\[?(?:
        \d{4}[-/.]\d{2}[-/.]\d{2}[ T-]\d{2}[:.]\d{2}      # 2026-11-25 07:00, 2005.06.03-15.42
      | \d{2}/\d{2}/\d{2,4}[ :]\d{2}:\d{2}                # 17/06/09 20:10, 25/Nov/2026:07:00
      | \d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}
      | [A-Z][a-z]{2}\s+\d{1,2}\s\d{2}:\d{2}:\d{2}        # syslog: Nov 25 07:00:00
      | \d{9,10}(?:\.\d+)?\s                              # epoch seconds
    )""",
    re.X,
)
_CONTINUATION: Final = re.compile(
    r"""^(?:
        \s | $                                          # indented (stack frames, wrapped text), blank
      | Traceback\ \(most\ recent\ call\ last\)
      | During\ handling\ of\ the\ above\ exception
      | The\ above\ exception\ was\ the\ direct\ cause
      | Caused\ by:
      | Suppressed:
      | \.\.\.\ \d+\ more
      | [A-Za-z_][\w.$]*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault|Throwable)(?::|$)
    )""",
    re.X,
)
_TIMESTAMP_REST: Final = re.compile(r"[\d:.,]*(?:\s?(?:Z|[+-]\d{2}:?\d{2}|UTC))?\]?\s*(?:[-|:]\s+)?")
_TRACEBACK_OPENER: Final = re.compile(r"^(?:Traceback \(most recent call last\)|  File \")")
_ISO_TIMESTAMP: Final = re.compile(
    r"^\[?(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a file (without its line break) and its byte span in the file."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log event: a header line and its continuation lines, with the byte span they cover."""

    lines: tuple[str, ...]
    start: int
    end: int

    @property
    def message(self) -> str:
        """The record's text, lines joined by newlines."""
        return "\n".join(self.lines)

    @property
    def body(self) -> str:
        """The record's text without the header's timestamp and level (they become fields)."""
        if not self.lines:
            return ""
        return "\n".join((strip_header(self.lines[0]), *self.lines[1:]))


def parse_level(line: str) -> str:
    """Return the canonical level named in a log line's header (``UNKNOWN`` if none).

    A ``level=...`` / ``"level": "..."`` key wins; otherwise the first upper-case level word among
    the header's first tokens, or a bracketed lower-case one (so ``error`` inside the message text
    does not count).
    """
    keyed = _KEYED_LEVEL.search(line[:300])
    if keyed is not None and keyed.group(1).upper() in _LEVELS:
        return _LEVELS[keyed.group(1).upper()]
    for token in line.split(None, _HEADER_TOKENS)[:_HEADER_TOKENS]:
        word = token.strip(_TOKEN_STRIP)
        if word in _LEVELS:
            return _LEVELS[word]
        if token[:1] == "[" and token[-1:] == "]" and word.upper() in _LEVELS:  # Apache's "[error]"
            return _LEVELS[word.upper()]
    return UNKNOWN_LEVEL


def strip_header(line: str) -> str:
    """Return ``line`` without the timestamp it starts with and the level word right after it.

    What remains is the message proper (``demo [worker-1] GET / 200``), so log templates and
    evidence read like the application's own words. A line without a recognised timestamp is
    returned unchanged.
    """
    found = _TIMESTAMP_START.match(line)
    if found is None:
        return line
    rest = line[found.end() :]
    rest = rest[_TIMESTAMP_REST.match(rest).end() :]  # type: ignore[union-attr]  # the pattern matches ""
    first, _, after = rest.partition(" ")
    word = first.strip(_TOKEN_STRIP)
    if word in _LEVELS or (first[:1] == "[" and word.upper() in _LEVELS):
        rest = after.lstrip(" |:-")
    return rest


def parse_timestamp(line: str) -> datetime | None:
    """Return the ISO-8601-like timestamp a line starts with (naive times are taken as UTC), else None."""
    found = _ISO_TIMESTAMP.match(line)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    tz: timezone = UTC
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz)
    except ValueError:
        return None
    return stamp.astimezone(UTC)


def starts_record(line: str, *, in_traceback: bool = False) -> bool:
    """Return True if ``line`` opens a new log record rather than continuing the previous one.

    Inside a Python traceback (``in_traceback``), the first unindented line is the exception line
    (``SomeName: message``, whatever the class is called) and continues the record too.
    """
    if _TIMESTAMP_START.match(line):
        return True
    return not in_traceback and not _CONTINUATION.match(line)


class MultilineGrouper:
    """Groups a file's lines into records; the last record is held until it is complete.

    A record is complete when the next record starts, when it reaches ``max_lines``, or when no
    line was added for ``idle_s`` (the writer has finished its trace). Time is passed in.
    """

    def __init__(self, *, max_lines: int = 500, max_chars: int = 32_000) -> None:
        self.max_lines = max_lines
        self.max_chars = max_chars
        self._lines: list[str] = []
        self._chars = 0
        self._start = 0
        self._end = 0
        self._last_fed = 0.0
        self._in_traceback = False

    @property
    def pending(self) -> bool:
        """A record is being assembled."""
        return bool(self._lines)

    def feed(self, line: LogLine, *, now: float) -> list[LogRecord]:
        """Add one line; return the records it completed."""
        done: list[LogRecord] = []
        full = len(self._lines) >= self.max_lines or self._chars + len(line.text) > self.max_chars
        if self._lines and (full or starts_record(line.text, in_traceback=self._in_traceback)):
            done.append(self._take())
        self._in_traceback = bool(_TRACEBACK_OPENER.match(line.text)) or (
            self._in_traceback and line.text[:1].isspace()
        )
        if not self._lines:
            self._start = line.start
        self._lines.append(line.text)
        self._chars += len(line.text) + 1
        self._end = line.end
        self._last_fed = now
        return done

    def flush(self, *, now: float, idle_s: float) -> list[LogRecord]:
        """Return the pending record if no line came for ``idle_s`` seconds."""
        if self._lines and now - self._last_fed >= idle_s:
            return [self._take()]
        return []

    def flush_all(self) -> list[LogRecord]:
        """Return the pending record whatever its age (end of file after a rotation)."""
        return [self._take()] if self._lines else []

    def _take(self) -> LogRecord:
        record = LogRecord(tuple(self._lines), self._start, self._end)
        self._lines = []
        self._chars = 0
        self._in_traceback = False
        return record
