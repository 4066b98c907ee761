"""Template state and the rules that decide whether a token key fits, or generalises, a template."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

from services.detector.domain.logmining.tokens import WILDCARD, Key


@dataclass(slots=True, eq=False)
class Template:
    """Mutable state of one template inside the miner (not shared outside it)."""

    template_id: str
    tokens: Key
    text: str
    seq: int
    count: int = 0
    last_seen: int = 0
    alive: bool = True
    merged_into: Template | None = None

    def generalise_to(self, tokens: Key) -> None:
        """Replace the template's tokens with a more general form."""
        self.tokens = tokens
        self.text = " ".join(tokens)


def template_id_for(key: Key) -> str:
    """Derive a stable id from the first key of a template."""
    return hashlib.blake2b("\x1f".join(key).encode("utf-8", "replace"), digest_size=8).hexdigest()


@functools.lru_cache(maxsize=4096)
def _slot_pattern(token: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in token.split(WILDCARD)), re.S)


def _token_fits(slot: str, token: str) -> bool:
    return WILDCARD in slot and _slot_pattern(slot).fullmatch(token) is not None


def is_wording(word: str) -> bool:
    """Tell whether a token is constant wording (has a letter and no value slot)."""
    return WILDCARD not in word and any(c.isalpha() for c in word)


def fits(template: Key, key: Key) -> bool:
    """Tell whether `key` is an instance of `template`: `<*>` (whole or inside a token) matches any text.

    A template without any wording only matches its own key, so bare values never swallow messages.
    """
    if template == key:
        return True
    if len(template) != len(key):
        return False
    for slot, token in zip(template, key, strict=True):
        if slot != token and slot != WILDCARD and not _token_fits(slot, token):
            return False
    return any(is_wording(w) for w in template)


def rank(template: Template) -> tuple[int, int]:
    """Order candidate templates: the most specific first, then the most often seen."""
    return sum(word != WILDCARD for word in template.tokens), template.count


def generalisable_positions(key: Key) -> list[int]:
    """Return the positions of `key` that may become a slot.

    A position holding wording qualifies unless it sits next to a slot (the boundary between two
    values would be ambiguous) or no other wording would be left.
    """
    wording = [is_wording(word) for word in key]
    if sum(wording) < 2:
        return []
    last = len(key) - 1
    return [
        pos
        for pos, word in enumerate(key)
        if wording[pos] and (pos == 0 or key[pos - 1] != WILDCARD) and (pos == last or key[pos + 1] != WILDCARD)
    ]
