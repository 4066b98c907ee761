"""Text from events made safe for every renderer: log lines, chat and webhook text, Markdown, URLs.

Event fields are written by whoever can produce to a topic or call the API, so any of them may hold
newlines (a fake extra line), terminal escapes, bidi overrides or zero-width characters (text that
reads differently than it is), Markdown or HTML (links, scripts). Renderers never interpolate a raw
field: single-line text goes through `clean_line`, Markdown through `md_text` / `md_code`, and URLs
are built with `url_with_path` / `fill_url_template`, whose inserted parts are percent-encoded.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

INVISIBLE: Final = frozenset(
    "\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
"""Zero-width, soft-hyphen and bidirectional control characters: they change how text reads, not what it says."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t]{2,}")
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
_MD_BLOCK_START = re.compile(r"^(?=[#+\-=])")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
MAX_LINE: Final = 2000


def strip_invisible(text: str) -> str:
    """Remove zero-width and bidi control characters."""
    return "".join(ch for ch in text if ch not in INVISIBLE)


def clean_line(text: object, *, limit: int = MAX_LINE) -> str:
    """Return ``text`` as one printable line: control characters become spaces, invisible ones go.

    For log lines, chat titles and every field interpolated into a plain-text line: a newline in a
    field can no longer start a line of its own.
    """
    line = _CONTROL.sub(" ", strip_invisible(str(text)))
    line = _SPACES.sub(" ", line).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def md_text(text: object, *, limit: int = MAX_LINE) -> str:
    """Return ``text`` as inert Markdown inline text: one line, Markdown and HTML characters escaped.

    Emphasis, code, links, images and table cells cannot open (their characters are backslash-escaped),
    HTML cannot start (``<``, ``>``, ``&`` become entities) and a leading ``#``, ``-``, ``+``, ``=`` or
    ``1.`` cannot make the text a heading or a list item.
    """
    line = _MD_INLINE.sub(r"\\\1", clean_line(text, limit=limit)).translate(_HTML)
    return _MD_ORDERED.sub(r"\1\\\2", _MD_BLOCK_START.sub("\\\\", line))


def md_code(text: object, *, limit: int = MAX_LINE, in_table: bool = False) -> str:
    """Return ``text`` as a Markdown code span (one line; backticks cannot close it early).

    ``in_table``: escape ``|`` too, which GFM reads as a cell border even inside a code span.
    """
    line = clean_line(text, limit=limit)
    if in_table:
        line = line.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") or not line else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def url_part(text: object) -> str:
    """Percent-encode ``text`` as one URL path segment or query value (``/``, ``?``, ``#`` included)."""
    return quote(clean_line(text), safe="")


def url_with_path(base: str, *segments: object) -> str:
    """Return ``base`` followed by each segment, percent-encoded, separated by ``/``."""
    return "/".join([base.rstrip("/"), *(url_part(s) for s in segments)])


def fill_url_template(template: str, fields: Mapping[str, object]) -> str:
    """Fill ``{name}`` placeholders of an operator's URL template with percent-encoded values.

    Only plain ``{name}`` fields are filled (no attribute access, indexing or format specs, so a
    template cannot reach into objects); unknown names and malformed templates leave it unchanged.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return template
    out: list[str] = []
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if spec or conversion or name not in fields:
            return template
        out.append(url_part(fields[name]))
    return "".join(out)


def log_safe(value: object) -> object:
    """Return a log argument with newlines and other control characters escaped and invisible ones removed."""
    if not isinstance(value, str):
        return value
    text = strip_invisible(value)
    return _CONTROL.sub(lambda c: repr(c.group())[1:-1], text)


class CleanLogArgs(logging.Filter):
    """Logging filter: string arguments of every record are made single-line and visible (`log_safe`).

    Install on the root handler (``handler.addFilter(CleanLogArgs())``): a field from an event
    logged through ``%s`` then cannot forge an extra log line or hide text with bidi controls.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(log_safe(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: log_safe(v) for k, v in record.args.items()}
        return True


def is_http_url(text: str) -> bool:
    """Tell whether ``text`` is an absolute http(s) URL without spaces or control characters."""
    return bool(re.fullmatch(r"https?://[^\s\x00-\x1f\x7f<>\"'`]+", text)) and text == strip_invisible(text)


ISO_INSTANT: Final = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def human_time(at: datetime) -> str:
    """``2026-12-05 14:03:07 UTC``: the instant in UTC to the second (a naive time is taken as UTC)."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def human_times(text: str) -> str:
    """Replace every ISO 8601 instant in ``text`` (``2026-12-05T14:03:07.123+00:00``) with `human_time`."""

    def one(match: re.Match[str]) -> str:
        try:
            return human_time(datetime.fromisoformat(match.group(0).replace("Z", "+00:00")))
        except ValueError:
            return match.group(0)

    return ISO_INSTANT.sub(one, text)
