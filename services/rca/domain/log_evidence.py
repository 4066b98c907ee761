"""Log evidence: templates that appear, burst or vanish on an entity during the incident.

Per entity, its lines before the incident are its usual vocabulary and volume. In the incident a
template is changed when it is new or at least `_SURGE_FACTOR` times as frequent as usual; the
entity's evidence is the share of its logging that changed (excess lines of changed templates,
error-like ones weighing more), or, when it wrote far fewer lines than usual, the share that went
missing (a dead pod writes nothing). Shares, not counts: a chatty service writes more of everything,
its faults and its noise, so volume alone says nothing about where a fault sits.

The template of a line comes from a `TemplateMiner`; the default masks variable-looking tokens
(numbers, hex ids, addresses, quoted values). The live log analyzer's miner
(services/detector/domain/logmining) is plugged in by the CLI through `MergingMiner`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final, Protocol

from services.rca.domain.model import LogLine

_VARIABLE: Final = re.compile(
    r"(\"[^\"]*\"|'[^']*'"
    r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"
    r"|\b0x[0-9a-f]+\b|\b[0-9a-f]*\d[0-9a-f]*\b(?=[^a-z]|$)"
    r"|[-+]?\d+(?:[.,:]\d+)*[a-z%]*)",
    re.IGNORECASE,
)
_ERROR_WORDS: Final = re.compile(
    r"\b(error|errors|exception|fail|failed|failure|fatal|panic|refused|timeout|timed out|unavailable"
    r"|exhausted|denied|critical|crash|killed|oom|traceback|abort|unreachable|severe)\b",
    re.IGNORECASE,
)
_ERROR_WEIGHT: Final = 1.0
_OTHER_WEIGHT: Final = 0.3
_SURGE_FACTOR: Final = 5.0
_QUIET_SHARE: Final = 0.3  # an entity that wrote less than this share of its usual lines went quiet
_QUIET_MIN_LINES: Final = 10.0  # ...when it usually writes at least this many in such a window
_MAX_QUIET: Final = 2  # a failed pod (and its sidecar) goes quiet; more at once is the collection
_SHARE_GAIN: Final = 10.0  # score = log1p(gain x changed share): 1 % -> 0.1, 10 % -> 0.7, all -> 2.4


class TemplateMiner(Protocol):
    """Maps a raw log message to its template (variable parts replaced)."""

    def template_of(self, message: str) -> str:
        """Return the template of `message`."""
        ...


class MaskingMiner:
    """Default miner: replace variable-looking tokens by `<*>` and collapse whitespace."""

    def template_of(self, message: str) -> str:
        """Return `message` with numbers, ids, addresses and quoted values masked."""
        return " ".join(_VARIABLE.sub("<*>", message).split())


@dataclass(frozen=True)
class LogFinding:
    """An entity's log evidence: its strongest changed template, and how much of its logging changed.

    `share` is the entity's changed logging relative to its own volume (excess lines of new or
    bursting templates, weighted by whether they read like errors, or the share of its usual lines
    that went missing), so a chatty service does not win by volume. `mentions` are other entities
    named in its new or bursting error templates (a caller's log naming the callee that failed it).
    """

    entity: str
    template: str
    first_seen: float
    count: int
    is_error: bool
    is_new: bool
    score: float
    share: float = 0.0
    quiet: bool = False
    mentions: tuple[str, ...] = ()


class MergingMiner(Protocol):
    """A miner whose templates may still merge: `canonical` maps an earlier answer to the final one."""

    def template_of(self, message: str) -> str:
        """Return the template of `message` as known now."""
        ...

    def canonical(self, template: str) -> str:
        """Return the final template of a template returned earlier."""
        ...


def is_error_template(template: str) -> bool:
    """Return True when a template reads like an error report."""
    return bool(_ERROR_WORDS.search(template))


def _templates(lines: list[LogLine], miner: TemplateMiner | MergingMiner) -> list[str]:
    found = [miner.template_of(line.message) for line in lines]
    canonical = getattr(miner, "canonical", None)
    if callable(canonical):
        found = [str(canonical(t)) for t in found]
    return found


def find_log_evidence(
    logs: Iterable[LogLine],
    *,
    incident_start: float,
    window_end: float,
    miner: TemplateMiner | MergingMiner | None = None,
    vetted_s: float = 0.0,
    entities: Iterable[str] = (),
) -> dict[str, LogFinding]:
    """Return, per entity whose logging changed in the incident window, its log evidence.

    Args:
        logs: log lines of the case (any order).
        incident_start: lines before this time form the entity's usual vocabulary and volume.
        window_end: lines after this time are ignored.
        miner: template miner; `MaskingMiner` when None.
        vetted_s: history the lines were already judged against elsewhere (see `Case.logs_vetted_s`).
        entities: names of the case's entities, found in error templates as `mentions`.

    """
    lines = [line for line in logs if line.ts <= window_end]
    templates = _templates(lines, miner or MaskingMiner())
    before: dict[str, Counter[str]] = {}
    during: dict[str, Counter[str]] = {}
    first_seen: dict[tuple[str, str], float] = {}
    last_before: dict[str, float] = {}
    earliest = min((line.ts for line in lines), default=math.inf)
    for line, template in zip(lines, templates, strict=True):
        if line.ts < incident_start:
            before.setdefault(line.entity, Counter())[template] += 1
            last_before[line.entity] = max(last_before.get(line.entity, -math.inf), line.ts)
        else:
            during.setdefault(line.entity, Counter())[template] += 1
            key = (line.entity, template)
            first_seen[key] = min(first_seen.get(key, math.inf), line.ts)
    history_span = max(incident_start - earliest, 0.0) if math.isfinite(earliest) else 0.0
    history_span = max(history_span, vetted_s)
    span = max(window_end - incident_start, 1.0)
    ratio = span / history_span if history_span > 0 else 0.0
    names = sorted(set(entities), key=len, reverse=True)
    spread = Counter(t for e, now in during.items() for t in _changed(before.get(e, Counter()), now, ratio))
    findings: dict[str, LogFinding] = {}
    for entity in set(before) | set(during):
        # Going quiet only counts for an entity that kept writing up to the incident.
        steady = incident_start - last_before.get(entity, -math.inf) <= _QUIET_SHARE * span
        usual = before.get(entity, Counter())
        now = during.get(entity, Counter())
        found = _entity_finding(entity, usual, now, ratio, first_seen, steady=steady, spread=spread)
        if found is None:
            continue
        if history_span <= 0:
            found = replace(found, score=0.5 * found.score)
        mentions = tuple(n for n in names if n != entity and found.is_error and n in found.template)
        findings[entity] = replace(found, mentions=mentions[:1])
    quiet = [e for e, f in findings.items() if f.quiet]
    if len(quiet) > _MAX_QUIET:
        # Many entities falling silent at once is the log collection stopping, not a fault.
        return {e: f for e, f in findings.items() if not f.quiet}
    return findings


def _changed(usual: Counter[str], now: Counter[str], ratio: float) -> list[str]:
    """Return the templates of `now` that are new or at least `_SURGE_FACTOR` times as frequent as usual."""
    return [t for t, c in now.items() if t not in usual or c >= _SURGE_FACTOR * max(usual[t] * ratio, 1.0)]


def _entity_finding(
    entity: str,
    usual: Counter[str],
    now: Counter[str],
    ratio: float,
    first_seen: dict[tuple[str, str], float],
    *,
    steady: bool,
    spread: Mapping[str, int],
) -> LogFinding | None:
    """Return one entity's finding: its changed share of logging and its strongest changed template."""
    expected_total = sum(usual.values()) * ratio
    volume = max(sum(now.values()), expected_total, 1.0)
    changed = 0.0
    floor = 1.0 if usual else 0.0
    best: tuple[float, str, int, bool, bool] | None = None
    for template in _changed(usual, now, ratio):
        count = now[template]
        expected = usual.get(template, 0) * ratio
        is_new = usual.get(template, 0) == 0
        error = is_error_template(template)
        # A template that changed on several entities at once is how a failure reads from its
        # callers (one client library, one message); one that changed on a single entity is specific.
        weight = (_ERROR_WEIGHT if error else _OTHER_WEIGHT) * (1.0 if is_new else 0.5) / spread.get(template, 1)
        # From an entity that has been logging, one line of a template not seen before is what a
        # rare template looks like: at least one line is expected of any template then.
        excess = weight * (count - max(expected, floor))
        if excess <= 0:
            continue
        changed += excess
        key = (excess, -first_seen[(entity, template)])
        if best is None or key > (best[0], -first_seen[(entity, best[1])]):
            best = (excess, template, count, error, is_new)
    share = min(changed / volume, 1.0)
    written = sum(now.values())
    if steady and expected_total >= _QUIET_MIN_LINES and written < _QUIET_SHARE * expected_total:
        quiet = 1.0 - written / expected_total
        if quiet > share:
            top = usual.most_common(1)[0][0]
            score = _ERROR_WEIGHT * math.log1p(_SHARE_GAIN * quiet)
            return LogFinding(entity, top, math.inf, written, False, False, score, quiet, quiet=True)
    if best is None or share <= 0:
        return None
    _, template, count, error, is_new = best
    score = math.log1p(_SHARE_GAIN * share)
    return LogFinding(entity, template, first_seen[(entity, template)], count, error, is_new, score, share)
