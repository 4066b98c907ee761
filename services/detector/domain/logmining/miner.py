"""Streaming log template miner: message -> stable template id, template with `<*>` slots, parameters.

How it works (every rule is generic; nothing is set per log source):

1. Masking (`tokens.py`): the first line of a message is mined (the rest of a multi-line message, e.g.
   a stack trace, is ignored for the template and the parameters); value-like parts of tokens become
   `<*>` by character class (digits, paths, long hex), neighbouring values collapse into one slot.
2. Caches make the common case a dict lookup: exact line -> template, then the line with every ASCII
   digit turned into `0` -> template (masking treats all digits alike, so that cache is exact).
3. A new token key joins the most specific template of the same length that it fits (equal wording,
   anything where the template has `<*>`).  Otherwise, when at least `min_distinct_values` keys were seen
   that differ only at one position, and those words are rare (each seen at most `max_mean_repeats`
   times on average), that position is a value: the template generalises to `<*>` there and absorbs the
   rarely seen templates it covers.  Often seen wording stays a template of its own (`VM Started` /
   `VM Stopped`).  A new key with `<*>` where rare templates have a word absorbs them the same way.
4. Absorbed templates forward to the survivor (the oldest), and `resolve` maps an absorbed id to the
   survivor's, so templates merge as variants arrive while ids stay stable.  An id is a hash of the
   first key seen for its template: the same input gives the same ids in any process, and
   `dumps`/`loads` carry the state across restarts.

Streaming: `add` decides each message's template when it arrives; later merges refine it.  Callers
that want final templates (the parse CLI, the benchmark) keep each line's id and call `resolve` /
`template_of` once the input is done: a cheap second pass over ids, no re-mining.

Bounded memory: at most `max_templates` templates (when full, the rarest of the least recently seen
is evicted), and every cache and table has a cap; per template only counters are kept.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from services.detector.domain.logmining.matching import (
    Template,
    fits,
    generalisable_positions,
    rank,
    template_id_for,
)
from services.detector.domain.logmining.tokens import (
    MAX_LINE_CHARS,
    WILDCARD,
    Key,
    extract_params,
    first_line,
    mask,
)

# Masking treats all ASCII digits alike, so lines equal up to their digits share one key (cache).
_FOLD_DIGITS: Final = bytes.maketrans(b"123456789", b"000000000")
_CACHEABLE_CHARS: Final = 2048  # longer lines are mined without caching, so caches stay small
_EVICTION_SAMPLE: Final = 32
_STATE_VERSION: Final = 1
_MAX_VALUES_TRACKED: Final = 16


class Match:
    """The template a message belongs to and the values that fill its `<*>` slots (read-only).

    `params` is worked out on first access: most callers only need the id and the template.
    """

    __slots__ = ("_line", "_params", "template", "template_id")

    def __init__(self, template_id: str, template: str, line: str) -> None:
        self.template_id = template_id
        self.template = template
        self._line = line
        self._params: tuple[str, ...] | None = None

    @property
    def params(self) -> tuple[str, ...]:
        """Return the values of the message's first line that fill the template's slots, in order."""
        if self._params is None:
            self._params = extract_params(self.template, self._line)
        return self._params

    def __repr__(self) -> str:
        return f"Match(template_id={self.template_id!r}, template={self.template!r}, params={self.params!r})"


@dataclass(frozen=True, slots=True)
class TemplateSummary:
    """A live template: its id, text and how many messages it matched."""

    template_id: str
    template: str
    count: int


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """Limits and the merge rule of the miner; the defaults are meant for any log source."""

    max_templates: int = 5_000
    max_cached_lines: int = 20_000
    max_aliases: int = 50_000
    max_generalisations: int = 20_000
    min_distinct_values: int = 5
    max_mean_repeats: float = 3.0


def _live(template: Template) -> Template | None:
    while not template.alive:
        if template.merged_into is None:
            return None
        template = template.merged_into
    return template


class TemplateMiner:
    """Streaming, bounded-memory template miner with stable ids; see the module docstring."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self._by_id: dict[str, Template] = {}
        self._by_length: dict[int, dict[str, Template]] = {}
        self._by_key: dict[Key, Template] = {}
        self._by_line: dict[str, Template] = {}
        self._by_folded: dict[bytes, Template] = {}
        self._masked_tokens: dict[str, str] = {}
        self._aliases: OrderedDict[str, str] = OrderedDict()
        self._values_at: OrderedDict[Key, set[str]] = OrderedDict()
        self._clock = 0
        self._next_seq = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, message: str) -> Match:
        """Mine one message and return its template as known now."""
        if "\n" in message or "\r" in message or len(message) > MAX_LINE_CHARS:
            message = first_line(message)
        template = self._by_line.get(message)
        if template is None or not template.alive:
            template = self._lookup(message)
            if len(message) <= _CACHEABLE_CHARS:
                if len(self._by_line) >= self.config.max_cached_lines:
                    self._by_line.clear()
                self._by_line[message] = template
        self._clock += 1
        template.count += 1
        template.last_seen = self._clock
        return Match(template.template_id, template.text, message)

    def resolve(self, template_id: str) -> str:
        """Return the id that answers for `template_id` now (itself unless it was merged)."""
        for _ in range(64):
            nxt = self._aliases.get(template_id)
            if nxt is None:
                break
            template_id = nxt
        return template_id

    def template_of(self, template_id: str) -> str | None:
        """Return the current template text for an id (following merges), or None once evicted."""
        found = self._by_id.get(self.resolve(template_id))
        return None if found is None else found.text

    def dumps(self) -> bytes:
        """Serialise templates, ids, aliases and merge evidence (not the caches) to JSON bytes."""
        state = {
            "version": _STATE_VERSION,
            "config": dataclasses.asdict(self.config),
            "clock": self._clock,
            "next_seq": self._next_seq,
            "templates": [[t.template_id, list(t.tokens), t.seq, t.count, t.last_seen] for t in self._ordered()],
            "aliases": list(self._aliases.items()),
            "values_at": [[list(k), sorted(v)] for k, v in self._values_at.items()],
        }
        return json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def loads(cls, data: bytes) -> TemplateMiner:
        """Rebuild a miner from `dumps` output; ids and templates come back unchanged."""
        state = json.loads(data.decode("utf-8"))
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported miner state version {state.get('version')!r}")
        miner = cls(MinerConfig(**state["config"]))
        for template_id, tokens, seq, count, last_seen in state["templates"]:
            key = tuple(tokens)
            template = miner._create(template_id, key)
            template.seq, template.count, template.last_seen = seq, count, last_seen
            miner._by_key[key] = template
        miner._clock, miner._next_seq = state["clock"], state["next_seq"]
        miner._aliases = OrderedDict((old, new) for old, new in state["aliases"])
        miner._values_at = OrderedDict((tuple(k), set(v)) for k, v in state["values_at"])
        return miner

    def templates(self) -> list[TemplateSummary]:
        """Return the live templates, oldest first."""
        return [TemplateSummary(t.template_id, t.text, t.count) for t in self._ordered()]

    def _ordered(self) -> list[Template]:
        return sorted(self._by_id.values(), key=lambda t: t.seq)

    # -- lookup, matching and merging -------------------------------------------------------------

    def _lookup(self, line: str) -> Template:
        folded = line.encode("utf-8", "surrogatepass").translate(_FOLD_DIGITS)
        cached = self._by_folded.get(folded)
        template = None if cached is None else _live(cached)
        if template is None:
            text = folded.decode("utf-8", "surrogatepass")
            if len(line) > _CACHEABLE_CHARS:
                return self._find_or_create(mask(text))
            if len(self._masked_tokens) >= self.config.max_cached_lines:
                self._masked_tokens.clear()
            template = self._find_or_create(mask(text, self._masked_tokens))
            if len(self._by_folded) >= self.config.max_cached_lines:
                self._by_folded.clear()
            self._by_folded[folded] = template
        return template

    def _find_or_create(self, key: Key) -> Template:
        known = self._by_key.get(key)
        found = None if known is None else _live(known)
        if found is None:
            bucket = self._by_length.setdefault(len(key), {})
            candidates = [t for t in bucket.values() if fits(t.tokens, key)]
            if candidates:
                found = max(candidates, key=rank)
            else:
                found = self._merge_into(self._generalise(key, bucket), key, bucket)
            if len(self._by_key) >= self.config.max_cached_lines:
                self._by_key.clear()
            self._by_key[key] = found
        return found

    def _generalise(self, key: Key, bucket: dict[str, Template]) -> Key:
        """Return `key` with `<*>` at a position that holds values rather than wording, else `key`."""
        for pos in generalisable_positions(key):
            word = key[pos]
            general = (*key[:pos], WILDCARD, *key[pos + 1 :])
            values = self._values_at.get(general)
            if values is None:
                values = self._values_at[general] = set()
                if len(self._values_at) > self.config.max_generalisations:
                    self._values_at.popitem(last=False)
            if len(values) < _MAX_VALUES_TRACKED:
                values.add(word)
            if len(values) >= self.config.min_distinct_values:
                seen = 1 + sum(t.count for t in bucket.values() if fits(general, t.tokens))
                if seen <= self.config.max_mean_repeats * len(values):
                    return general
        return key

    def _merge_into(self, tokens: Key, key: Key, bucket: dict[str, Template]) -> Template:
        """Create the template `tokens`, absorbing the rarely seen templates of `bucket` that it covers."""
        absorbed = [t for t in bucket.values() if t.count <= self.config.max_mean_repeats and fits(tokens, t.tokens)]
        if not absorbed:
            template_id, salt = template_id_for(key), 0
            while template_id in self._by_id:  # only after caches forgot `key`: keep ids unique
                salt += 1
                template_id = template_id_for((*key, str(salt)))
            return self._create(template_id, tokens)
        survivor = min(absorbed, key=lambda t: t.seq)
        survivor.generalise_to(tokens)
        for other in absorbed:
            if other is not survivor:
                survivor.count += other.count
                self._retire(other, survivor)
        return survivor

    def _create(self, template_id: str, tokens: Key) -> Template:
        created = Template(template_id, tokens, " ".join(tokens), self._next_seq, last_seen=self._clock)
        self._next_seq += 1
        self._by_id[template_id] = created
        self._by_length.setdefault(len(tokens), {})[template_id] = created
        self._aliases.pop(template_id, None)
        if len(self._by_id) > self.config.max_templates:
            self._evict(keep=created)
        return created

    def _retire(self, template: Template, survivor: Template | None) -> None:
        template.alive = False
        template.merged_into = survivor
        del self._by_id[template.template_id]
        del self._by_length[len(template.tokens)][template.template_id]
        if survivor is not None:
            self._aliases[template.template_id] = survivor.template_id
            if len(self._aliases) > self.config.max_aliases:
                self._aliases.popitem(last=False)

    def _evict(self, keep: Template) -> None:
        stale = heapq.nsmallest(_EVICTION_SAMPLE, self._by_id.values(), key=lambda t: t.last_seen)
        victims = [t for t in stale if t is not keep]
        if victims:
            self._retire(min(victims, key=lambda t: t.count), None)
