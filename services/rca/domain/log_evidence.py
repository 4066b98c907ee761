"""Log evidence: log templates that are new (or far more frequent) on an entity during the incident.

The template of a line comes from a `TemplateMiner`; the default masks variable-looking tokens
(numbers, hex ids, addresses, quoted values), which is enough to tell a new error message from
the usual chatter. The project's real miner (services/detector/domain/logmining) can be plugged in
through the same protocol.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
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
_NEW_ERROR_WEIGHT: Final = 1.0
_NEW_OTHER_WEIGHT: Final = 0.3
_SURGE_FACTOR: Final = 5.0


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
    """An entity's strongest log evidence: template, first time seen, line count and score."""

    entity: str
    template: str
    first_seen: float
    count: int
    is_error: bool
    is_new: bool
    score: float


def is_error_template(template: str) -> bool:
    """Return True when a template reads like an error report."""
    return bool(_ERROR_WORDS.search(template))


def find_log_evidence(
    logs: Iterable[LogLine],
    *,
    incident_start: float,
    window_end: float,
    miner: TemplateMiner | None = None,
    vetted_s: float = 0.0,
) -> dict[str, LogFinding]:
    """Return, per entity, its strongest new or surging template in the incident window.

    Args:
        logs: log lines of the case (any order).
        incident_start: lines before this time form the entity's usual vocabulary.
        window_end: lines after this time are ignored.
        miner: template miner; `MaskingMiner` when None.
        vetted_s: history the lines were already judged against elsewhere (see `Case.logs_vetted_s`).

    """
    miner = miner or MaskingMiner()
    before: dict[str, Counter[str]] = {}
    during: dict[str, Counter[str]] = {}
    first_seen: dict[tuple[str, str], float] = {}
    history_span = 0.0
    earliest = math.inf
    for line in logs:
        if line.ts > window_end:
            continue
        template = miner.template_of(line.message)
        earliest = min(earliest, line.ts)
        if line.ts < incident_start:
            before.setdefault(line.entity, Counter())[template] += 1
        else:
            during.setdefault(line.entity, Counter())[template] += 1
            key = (line.entity, template)
            first_seen[key] = min(first_seen.get(key, math.inf), line.ts)
    if math.isfinite(earliest):
        history_span = max(incident_start - earliest, 0.0)
    history_span = max(history_span, vetted_s)
    incident_span = max(window_end - incident_start, 1.0)
    findings: dict[str, LogFinding] = {}
    for entity, counts in during.items():
        usual = before.get(entity, Counter())
        best: LogFinding | None = None
        for template, count in counts.items():
            seen_before = usual.get(template, 0)
            expected = seen_before * incident_span / history_span if history_span > 0 else 0.0
            is_new = seen_before == 0
            if not is_new and count < _SURGE_FACTOR * max(expected, 1.0):
                continue
            error = is_error_template(template)
            weight = _NEW_ERROR_WEIGHT if error else _NEW_OTHER_WEIGHT
            if not is_new:
                weight *= 0.5
            score = weight * math.log1p(count) * (1.0 if history_span > 0 else 0.5)
            finding = LogFinding(entity, template, first_seen[(entity, template)], count, error, is_new, score)
            if best is None or (finding.score, -finding.first_seen) > (best.score, -best.first_seen):
                best = finding
        if best is not None:
            findings[entity] = best
    return findings
