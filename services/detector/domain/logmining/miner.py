"""Streaming log template miner: message -> stable template id, template with `<*>` slots, parameters.

How it works (every rule is generic; nothing is set per log source):

1. Masking (`tokens.py`): the first line of a message is mined (the rest of a multi-line message, e.g.
   a stack trace, is ignored for the template and the parameters); value-like parts of tokens become
   `<*>` by character class (digits, paths, long hex), neighbouring values collapse into one slot.
2. Caches make the common case a dict lookup: exact line -> template, then the line with every ASCII
   digit turned into `0` -> template (masking treats all digits alike, so that cache is exact), then
   the key text -> template.  Masked tokens, token classes and key shapes are cached too.
3. A new token key joins the most specific template of the same length that it fits (equal wording,
   anything where the template has `<*>`), found through an index (`index.py`), not a scan of every
   template.  Otherwise, when at least `min_distinct_values` keys were seen that differ only at one
   position, and those words are rare (each seen at most `max_mean_repeats` times on average), that
   position is a value: the template generalises to `<*>` there and absorbs the rarely seen templates it
   covers.  Often seen wording stays a template of its own (`VM Started` / `VM Stopped`).  A new key
   with `<*>` where rare templates have a word absorbs them the same way.
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
from itertools import accumulate
from typing import Final

from services.detector.domain.logmining.index import Bucket
from services.detector.domain.logmining.interface import Match, MinerConfig, TemplateSummary
from services.detector.domain.logmining.matching import (
    Pattern,
    Shape,
    Template,
    live,
    rank,
    shape_of,
    template_id_for,
    token_class,
)
from services.detector.domain.logmining.tokens import (
    WILDCARD,
    Key,
    first_line,
    mask_text,
    split_key,
)

# Masking treats all ASCII digits alike, so lines equal up to their digits share one key (cache).
_FOLD_DIGITS: Final = bytes.maketrans(b"123456789", b"000000000")
_CACHEABLE_CHARS: Final = 2048  # longer lines are mined without caching, so caches stay small
_EVICTION_SAMPLE: Final = 32
_STATE_VERSION: Final = 1
_MAX_VALUES_TRACKED: Final = 16


class TemplateMiner:
    """Streaming, bounded-memory template miner with stable ids; see the module docstring."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self._by_id: dict[str, Template] = {}
        self._by_length: dict[int, Bucket] = {}
        self._by_key: dict[str, Template] = {}  # by key text
        self._by_line: dict[str, Template] = {}
        self._by_folded: dict[bytes, Template] = {}
        self._masked_tokens: dict[str, str] = {}
        self._token_classes: dict[str, int] = {}
        self._shapes: dict[bytes, Shape] = {}
        self._aliases: OrderedDict[str, str] = OrderedDict()
        self._values_at: OrderedDict[str, set[str]] = OrderedDict()  # general key text -> words seen
        self._clock = 0
        self._next_seq = 0
        self._max_cached = self.config.max_cached_lines

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, message: str) -> Match:
        """Mine one message and return its template as known now."""
        template = self._by_line.get(message)  # keyed by first lines: a hit means `message` is one
        line = message
        if template is None or not template.alive:
            template, line = self._match(message)
        self._clock = clock = self._clock + 1
        template.count += 1
        template.last_seen = clock
        return Match(template.template_id, template.text, line)

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
            "values_at": [[list(split_key(k)), sorted(v)] for k, v in self._values_at.items()],
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
            template = miner._create(template_id, Pattern(tuple(tokens)))
            template.seq, template.count, template.last_seen = seq, count, last_seen
            miner._by_key[template.text] = template
        miner._clock, miner._next_seq = state["clock"], state["next_seq"]
        miner._aliases = OrderedDict((old, new) for old, new in state["aliases"])
        miner._values_at = OrderedDict((" ".join(k), set(v)) for k, v in state["values_at"])
        return miner

    def templates(self) -> list[TemplateSummary]:
        """Return the live templates, oldest first."""
        return [TemplateSummary(t.template_id, t.text, t.count) for t in self._ordered()]

    def _ordered(self) -> list[Template]:
        return sorted(self._by_id.values(), key=lambda t: t.seq)

    # -- lookup, matching and merging -------------------------------------------------------------

    def _match(self, message: str) -> tuple[Template, str]:
        """Return the template of a message not (validly) in the line cache, and the line it was mined by."""
        line = message
        if len(line) > _CACHEABLE_CHARS or "\n" in line or "\r" in line:
            line = first_line(line)
            if len(line) > _CACHEABLE_CHARS:
                return self._lookup(line), line
            cached = self._by_line.get(line)
            if cached is not None and cached.alive:
                return cached, line
        template = self._lookup(line)
        if len(self._by_line) >= self._max_cached:
            self._by_line.clear()
        self._by_line[line] = template
        return template, line

    def _lookup(self, line: str) -> Template:
        """Return the template of a line: from the digit-folded line cache, else by masking and matching."""
        try:
            folded = line.encode().translate(_FOLD_DIGITS)
        except UnicodeEncodeError:  # lone surrogates
            folded = line.encode("utf-8", "surrogatepass").translate(_FOLD_DIGITS)
        template = self._by_folded.get(folded)
        if template is not None and (template.alive or (template := live(template)) is not None):
            return template
        text = folded.decode("utf-8", "surrogatepass")
        if len(line) > _CACHEABLE_CHARS:
            return self._find_or_create(mask_text(text))
        if len(self._masked_tokens) >= self._max_cached:
            self._masked_tokens.clear()
        template = self._find_or_create(mask_text(text, self._masked_tokens))
        if len(self._by_folded) >= self._max_cached:
            self._by_folded.clear()
        self._by_folded[folded] = template
        return template

    def _find_or_create(self, text: str) -> Template:
        """Return the template of a key given as text (`mask_text`), creating or generalising one if need be."""
        found = self._by_key.get(text)
        if found is not None and not found.alive:
            found = live(found)
        if found is None:
            key = split_key(text)
            bucket = self._by_length.get(len(key))
            if bucket is None:
                bucket = self._by_length[len(key)] = Bucket()
            candidates = bucket.candidates(key)
            if candidates:
                found = candidates[0] if len(candidates) == 1 else max(candidates, key=rank)
            else:
                found = self._merge_into(self._generalise(key, text, bucket), key, bucket)
            if len(self._by_key) >= self._max_cached:
                self._by_key.clear()
            self._by_key[text] = found
        return found

    def _shape(self, key: Key) -> Shape:
        """Return the `Shape` of `key` (token classes and shapes are cached)."""
        classes, shapes = self._token_classes, self._shapes
        if len(classes) >= self._max_cached:
            classes.clear()
        if len(shapes) >= self._max_cached:
            shapes.clear()
        return shape_of([classes.get(word) or classes.setdefault(word, token_class(word)) for word in key], shapes)

    def _generalise(self, key: Key, text: str, bucket: Bucket) -> Pattern:
        """Return `key` with `<*>` at a position that holds values rather than wording, else `key`.

        Evidence is kept per general form (as text): the words seen where it has its `<*>`.
        """
        values_at, config = self._values_at, self.config
        most, least = config.max_generalisations, config.min_distinct_values
        shape = self._shape(key)
        positions = shape.generalisable
        before = list(accumulate(map(len, key), initial=0)) if positions else []  # chars of the tokens before
        for pos in positions:
            word = key[pos]
            start = before[pos] + pos
            general = f"{text[:start]}{WILDCARD}{text[start + len(word) :]}"
            values = values_at.get(general)
            if values is None:
                values = values_at[general] = {word}
                if len(values_at) > most:
                    values_at.popitem(last=False)
                if least > 1:
                    continue  # one word is never enough
            elif len(values) < _MAX_VALUES_TRACKED:
                values.add(word)
            if len(values) >= least:
                tokens = (*key[:pos], WILDCARD, *key[pos + 1 :])
                pattern = Pattern(tokens, self._shape(tokens))
                seen = 1 + sum(t.count for t in bucket.covered_by(pattern))
                if seen <= config.max_mean_repeats * len(values):
                    return pattern
        return Pattern(key, shape)

    def _merge_into(self, pattern: Pattern, key: Key, bucket: Bucket) -> Template:
        """Create the template `pattern`, absorbing the rarely seen templates of `bucket` that it covers."""
        absorbed = bucket.covered_by(pattern, max_count=self.config.max_mean_repeats)
        if not absorbed:
            template_id, salt = template_id_for(key), 0
            while template_id in self._by_id:  # only after caches forgot `key`: keep ids unique
                salt += 1
                template_id = template_id_for((*key, str(salt)))
            return self._create(template_id, pattern)
        survivor = min(absorbed, key=lambda t: t.seq)
        bucket.generalise(survivor, pattern)
        for other in absorbed:
            if other is not survivor:
                survivor.count += other.count
                self._retire(other, survivor)
        return survivor

    def _create(self, template_id: str, pattern: Pattern) -> Template:
        created = Template(template_id, pattern, self._next_seq, self._clock)
        self._next_seq += 1
        self._by_id[template_id] = created
        bucket = self._by_length.get(len(pattern.tokens))
        if bucket is None:
            bucket = self._by_length[len(pattern.tokens)] = Bucket()
        bucket.add(created)
        self._aliases.pop(template_id, None)
        if len(self._by_id) > self.config.max_templates:
            self._evict(keep=created)
        return created

    def _retire(self, template: Template, survivor: Template | None) -> None:
        template.alive = False
        template.merged_into = survivor
        del self._by_id[template.template_id]
        self._by_length[len(template.tokens)].remove(template)
        if survivor is not None:
            self._aliases[template.template_id] = survivor.template_id
            if len(self._aliases) > self.config.max_aliases:
                self._aliases.popitem(last=False)

    def _evict(self, keep: Template) -> None:
        stale = heapq.nsmallest(_EVICTION_SAMPLE, self._by_id.values(), key=lambda t: t.last_seen)
        victims = [t for t in stale if t is not keep]
        if victims:
            self._retire(min(victims, key=lambda t: t.count), None)
