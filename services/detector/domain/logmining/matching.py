"""Template state and the rules that decide whether a token key fits, or generalises, a template."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from operator import itemgetter

from services.detector.domain.logmining.tokens import WILDCARD, Key

# Token classes, from the least to the most constant (all true, so a cache can use `get(w) or ...`).
SLOT, PARTIAL, CONSTANT, WORDING = 1, 2, 3, 4
Classes = Sequence[int]


def token_class(word: str) -> int:
    """Classify a token: a bare `<*>`, a slot inside a token, constant, or wording (constant with a letter)."""
    if word == WILDCARD:
        return SLOT
    if WILDCARD in word:
        return PARTIAL
    if word.isascii():  # the ASCII letters are exactly the cased ASCII characters
        return WORDING if word.lower() != word.upper() else CONSTANT
    return WORDING if any(c.isalpha() for c in word) else CONSTANT


@functools.lru_cache(maxsize=4096)
def _slot_pattern(token: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in token.split(WILDCARD)), re.S)


def _no_positions(_key: Key) -> tuple[()]:
    return ()


class Shape:
    """What matching needs from a key's token classes; keys with the same classes share one (immutable).

    `exact` are the positions a key must equal (every position when there is no wording: such a template
    only matches its own key, so bare values never swallow messages); `partial` are the positions with a
    slot inside a token (``node-<*>``), checked one by one; `project` picks the `exact` positions of a
    key in one C-level call, so a fit is mostly one tuple comparison.
    """

    __slots__ = ("exact", "generalisable", "partial", "project", "specificity")

    def __init__(self, classes: Classes) -> None:
        self.specificity = len(classes) - classes.count(SLOT)
        if WORDING in classes and (PARTIAL in classes or self.specificity < len(classes)):
            self.exact = tuple([pos for pos, cls in enumerate(classes) if cls >= CONSTANT])
            self.partial = (
                tuple([pos for pos, cls in enumerate(classes) if cls == PARTIAL]) if PARTIAL in classes else ()
            )
        else:  # no slot, or no wording: compare every position
            self.exact, self.partial = tuple(range(len(classes))), ()
        self.project: Callable[[Key], object] = itemgetter(*self.exact) if self.exact else _no_positions
        self.generalisable = generalisable_positions(classes)


def shape_of(classes: list[int], cache: dict[bytes, Shape]) -> Shape:
    """Return the `Shape` of `classes`, from `cache` when known (the caller bounds its size)."""
    code = bytes(classes)
    shape = cache.get(code)
    if shape is None:
        shape = cache[code] = Shape(classes)
    return shape


class Pattern:
    """A template's tokens prepared for matching keys of the same length (immutable); see `Shape`."""

    __slots__ = ("exact", "partial", "project", "projection", "specificity", "tokens")

    def __init__(self, tokens: Key, shape: Shape | None = None) -> None:
        if shape is None:
            shape = Shape([token_class(word) for word in tokens])
        self.tokens = tokens
        self.specificity = shape.specificity
        self.exact = shape.exact
        self.partial = shape.partial
        self.project = shape.project
        self.projection = shape.project(tokens)

    def fits(self, key: Key) -> bool:
        """Tell whether `key` is an instance: equal words, anything where the pattern has `<*>`."""
        if len(key) != len(self.tokens) or self.project(key) != self.projection:
            return False
        return not self.partial or self.fits_partial(key)

    def fits_partial(self, key: Key) -> bool:
        """Tell whether the in-token slots of the pattern match `key` (the other positions already do)."""
        tokens = self.tokens
        return all(tokens[p] == key[p] or _slot_pattern(tokens[p]).fullmatch(key[p]) for p in self.partial)


class Template:
    """Mutable state of one template inside the miner (not shared outside it)."""

    __slots__ = ("alive", "count", "last_seen", "merged_into", "pattern", "seq", "template_id", "text", "tokens")

    def __init__(self, template_id: str, pattern: Pattern, seq: int, last_seen: int) -> None:
        self.template_id = template_id
        self.pattern = pattern
        self.tokens = pattern.tokens
        self.text = " ".join(pattern.tokens)
        self.seq = seq
        self.count = 0
        self.last_seen = last_seen
        self.alive = True
        self.merged_into: Template | None = None

    def generalise_to(self, pattern: Pattern) -> None:
        """Replace the template's tokens with a more general form."""
        self.pattern = pattern
        self.tokens = pattern.tokens
        self.text = " ".join(pattern.tokens)


def live(template: Template) -> Template | None:
    """Return the live template that answers for `template` (following merges), or None once evicted."""
    while not template.alive:
        if template.merged_into is None:
            return None
        template = template.merged_into
    return template


def template_id_for(key: Key) -> str:
    """Derive a stable id from the first key of a template."""
    return hashlib.blake2b("\x1f".join(key).encode("utf-8", "replace"), digest_size=8).hexdigest()


def rank(template: Template) -> tuple[int, int, int]:
    """Order candidate templates: the most specific first, then the most often seen, then the oldest."""
    return template.pattern.specificity, template.count, -template.seq


def generalisable_positions(classes: Classes) -> tuple[int, ...]:
    """Return the positions, of a key with these token classes, that may become a slot.

    A position holding wording qualifies unless it sits next to a slot (the boundary between two
    values would be ambiguous) or no other wording would be left.
    """
    if classes.count(WORDING) < 2:
        return ()
    if SLOT not in classes:
        return tuple([pos for pos, cls in enumerate(classes) if cls == WORDING])
    last = len(classes) - 1
    return tuple(
        [
            pos
            for pos, cls in enumerate(classes)
            if cls == WORDING and (pos == 0 or classes[pos - 1] != SLOT) and (pos == last or classes[pos + 1] != SLOT)
        ]
    )
