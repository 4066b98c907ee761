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
import string
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
_DIGITS: Final = frozenset("0123456789")
_DELIMITER_CHARS: Final = "[](){}<>=,;:\"'|"  # they split a token into parts
_DELIMITERS: Final = frozenset(_DELIMITER_CHARS)
_LETTERS: Final = string.ascii_letters
_HEX_RUN: Final = re.compile(r"[0-9a-fA-F]{16}")
# On tokens joined by single spaces: a whole-token value followed by a size unit, and runs of neighbouring
# values (each may carry a unit), become one `<*>` in a single pass.
_UNIT: Final = r"(?i:b|kb|mb|gb|tb|pb|kib|mib|gib|tib)(?=[,;:.)\]}]*(?!\S))"
_NEXT_VALUE: Final = rf" <\*>(?: {_UNIT})?"
_COLLAPSE: Final = re.compile(  # (the lookahead only lets most `<*>` fail fast)
    rf"<\*>(?= [<bkmgtpBKMGTP])(?:(?<!\S<\*>) {_UNIT}(?:{_NEXT_VALUE})*|(?:{_NEXT_VALUE})+)"
)


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
    if token.isascii():  # shortcuts for the common shapes, which skip the slow full expression
        if token.isalpha() and len(token) < 16:
            return token
        if _DIGITS.isdisjoint(token):
            if "/" not in token and (len(token) < 16 or not _HEX_RUN.search(token)):
                return token  # every value rule needs a digit, a `/` or 16 hex digits
        else:  # a digit in the one part between leading and trailing delimiters: that part is the value
            core = token.strip(_DELIMITER_CHARS)
            if _DELIMITERS.isdisjoint(core) and not _starts_as_word_prefix(core):
                start = len(token) - len(token.lstrip(_DELIMITER_CHARS))
                return f"{token[:start]}{WILDCARD}{token[start + len(core) :]}"
    return _VALUE.sub(WILDCARD, token)


def _starts_as_word_prefix(part: str) -> bool:
    """Tell whether `part` may be a `word-` / `word.` prefix before a number (``node-12``)."""
    rest = part.lstrip(_LETTERS)
    return len(part) - len(rest) >= 2 and rest[:1] in ("-", ".")


def mask_text(line: str, cache: dict[str, str] | None = None) -> str:
    """Return the token key of one line as text: its tokens, value parts as `<*>`, joined by single spaces.

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
    return _COLLAPSE.sub(WILDCARD, joined) if "<*> " in joined else joined


def mask(line: str, cache: dict[str, str] | None = None) -> Key:
    """Return the token key of one line: its whitespace tokens with value parts replaced by `<*>`."""
    return split_key(mask_text(line, cache))


def split_key(text: str) -> Key:
    """Return the tokens of a key given as text (`mask_text`)."""
    return tuple(text.split(" ")) if text else ()


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
