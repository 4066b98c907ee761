"""Mask the value-like parts of a log message by character class, giving the token key the miner groups on.

Only generic rules, applied by a few compiled regular expressions (fast, C-level substitution):

* a message is mined by its first non-empty line (a stack trace's headline); the rest is ignored;
* a whitespace token splits into parts at ``[](){}<>=,;:"'|``; a part is a value when it holds a digit,
  looks like a path (``/a/b``, ``./x``, ``~/y``, ``a/b/c``) or is a long hex string; colon-separated
  hex groups with a digit (MAC, IPv6, ``hh:mm:ss``) are one value;
* a word prefix before a number-like rest stays wording (``node-12`` -> ``node-<*>``, ``core.3`` ->
  ``core.<*>``); values joined by ``:`` are one value (``host:port``, ``hh:mm:ss``);
* a value followed by a size unit is one value (``58.2 KB``), and neighbouring values collapse into one,
  so lists of any length (``blk_1 blk_2 ...``) and values with spaces share one slot;
* lines are cut at `MAX_LINE_CHARS`, tokens beyond `MAX_TOKENS` fold into one value, and a token longer
  than `MAX_TOKEN_CHARS` is a value.
"""

from __future__ import annotations

import functools
import re
from typing import Final

WILDCARD: Final = "<*>"
MAX_TOKENS: Final = 128
MAX_TOKEN_CHARS: Final = 256
MAX_LINE_CHARS: Final = 8192

Key = tuple[str, ...]

_PART: Final = r"""[^\s\[\](){}<>=,;:"'|]"""
_VALUE_PART: Final = (
    r"(?:(?=[0-9a-fA-F:]*\d)[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){2,}"  # MAC / IPv6 / time
    rf"|{_PART}*\d{_PART}*"  # holds a digit
    rf"|/{_PART}+|[~.]{_PART}*/{_PART}*|{_PART}*/{_PART}*/{_PART}*"  # a path
    rf"|[0-9a-fA-F]{{16,}})"  # a long hex id
)
_HEXISH_REST: Final = rf"(?=[0-9a-fA-F.\-]*\d)[0-9a-fA-F][0-9a-fA-F.\-]*(?!{_PART})"
_VALUE: Final = re.compile(
    # a whole part (unless it is `word-` / `word.` before a number-like rest) ...
    rf"(?<!{_PART})(?![A-Za-z]{{2,}}(?:-|\.+){_HEXISH_REST}){_VALUE_PART}(?::{_VALUE_PART})*(?!{_PART})"
    # ... or the number-like rest after such a word prefix
    rf"|(?<=[-.]){_HEXISH_REST}"
)
_SIZE_UNIT: Final = re.compile(r"<\*>(?<!\S<\*>)\s+(?i:b|kb|mb|gb|tb|pb|kib|mib|gib|tib)(?=[,;:.)\]}]*(?!\S))")
_NEIGHBOUR_VALUES: Final = re.compile(r"<\*>(?:\s+<\*>)+")


def first_line(message: str) -> str:
    """Return the first non-empty line of a message, cut at `MAX_LINE_CHARS`."""
    if "\n" not in message and "\r" not in message:
        return message[:MAX_LINE_CHARS]
    for line in message.splitlines():
        if line.strip():
            return line[:MAX_LINE_CHARS]
    return ""


def mask_token(token: str) -> str:
    """Mask the value-like parts of one whitespace-free token."""
    if len(token) > MAX_TOKEN_CHARS:
        return WILDCARD
    return _VALUE.sub(WILDCARD, token)


def mask(line: str, cache: dict[str, str] | None = None) -> Key:
    """Return the token key of one line: its whitespace tokens with value parts replaced by `<*>`.

    `cache` (token -> masked token) is filled and read when given; the caller bounds its size.
    """
    tokens = line.split()
    if len(tokens) > MAX_TOKENS:
        tokens = tokens[:MAX_TOKENS]
        tokens[-1] = WILDCARD
    if cache is None:
        masked = [mask_token(t) for t in tokens]
    else:
        masked = [cache.get(t) or cache.setdefault(t, mask_token(t)) for t in tokens]
    joined = " ".join(masked)
    if "<*> " not in joined:
        return tuple(masked)
    joined = _NEIGHBOUR_VALUES.sub(WILDCARD, _SIZE_UNIT.sub(WILDCARD, joined))
    return tuple(joined.split())


@functools.lru_cache(maxsize=4096)
def _template_regex(template: str) -> re.Pattern[str]:
    pieces = [r"\s+".join(re.escape(w) for w in chunk.split()) for chunk in template.split(WILDCARD)]
    return re.compile(r"\s*(.*?)\s*".join(pieces), re.S)


def extract_params(template: str, line: str) -> tuple[str, ...]:
    """Return the values of `line` that fill the `<*>` slots of `template` (empty if it does not fit)."""
    if WILDCARD not in template:
        return ()
    found = _template_regex(template).fullmatch(line.strip())
    return () if found is None else found.groups()
