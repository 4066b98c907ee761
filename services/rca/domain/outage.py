"""An entity that stopped: most of its series went missing or fell to zero together in the incident.

Why: a pod that crashed or was killed stops serving. Its series stop (the exporter is gone) or fall
to zero (cpu, memory, traffic), while the services that call it keep running and report failures,
loudly. Scoring column by column misses this -- a missing value is no evidence, and a falling cpu is
the harmless direction -- yet it is the most specific evidence of where such a fault sits. So an
entity is judged as a whole: a column counts as silenced when it was present and away from zero
through the history (sparse or often-zero columns are not judged) and is missing or ~0 in a clear
share of the incident rows; the entity stopped when at least half of its judged columns did, two at least.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from services.rca.domain.model import FloatArray, split_column

_PRESENT_SHARE: Final = 0.8  # a judged column had values in most history rows
_ZERO_SHARE: Final = 0.05  # "at zero": within 5 % of the column's usual size
_SILENT_SHARE: Final = 0.2  # silent in at least this share of the incident rows...
_SILENT_FACTOR: Final = 5.0  # ...and this many times more often than in the history
_ENTITY_SHARE: Final = 0.5  # half of an entity's judged columns went silent
_MAX_STOPPED: Final = 2  # a pod (and its wrapper); when more stop at once, traffic or scraping stopped


@dataclass(frozen=True)
class Outage:
    """An entity that stopped: silenced and judged column counts, and when the silence began."""

    entity: str
    silenced: int
    judged: int
    onset: float

    @property
    def share(self) -> float:
        """Return the share of the entity's judged columns that went silent."""
        return self.silenced / self.judged


def _silent(values: FloatArray, usual: float) -> np.ndarray:
    return np.isnan(values) | (np.abs(values) <= _ZERO_SHARE * usual)


def find_outages(
    columns: Mapping[str, FloatArray],
    timestamps: FloatArray,
    *,
    history_end: float,
    scan_start: float,
    window_end: float,
) -> dict[str, Outage]:
    """Return, per entity that stopped in the incident window, its outage."""
    history = timestamps < history_end
    incident = (timestamps >= scan_start) & (timestamps <= window_end)
    if history.sum() < 3 or incident.sum() < 2:
        return {}
    judged: dict[str, int] = {}
    silenced: dict[str, list[float]] = {}
    for name, values in columns.items():
        hist = values[history]
        present = hist[~np.isnan(hist)]
        if present.size < _PRESENT_SHARE * hist.size:
            continue
        usual = float(np.median(np.abs(present)))
        if usual <= 0.0:
            continue
        silent_hist = float(np.mean(_silent(hist, usual)))
        if silent_hist > _SILENT_SHARE / _SILENT_FACTOR:
            continue
        entity = split_column(name)[0]
        judged[entity] = judged.get(entity, 0) + 1
        silent_inc = _silent(values[incident], usual)
        share = float(np.mean(silent_inc))
        if share >= _SILENT_SHARE and share >= _SILENT_FACTOR * silent_hist and _has_run(silent_inc):
            first = int(np.argmax(silent_inc))
            silenced.setdefault(entity, []).append(float(timestamps[incident][first]))
    out: dict[str, Outage] = {}
    for entity, onsets in silenced.items():
        if len(onsets) >= max(2.0, _ENTITY_SHARE * judged[entity]):
            out[entity] = Outage(entity, len(onsets), judged[entity], float(np.median(onsets)))
    return out if len(out) <= _MAX_STOPPED else {}


def before_outages(
    outages: Mapping[str, Outage], onsets: Mapping[str, float | None], *, lead_s: float
) -> dict[str, Outage]:
    """Return the outages no other entity's deviation preceded by `lead_s` or more.

    An entity stops being called once what is upstream of it failed, so a stop after others failed
    is their effect; a pod failure makes its callers fail from the moment it stops, not before.
    """
    return {
        name: o
        for name, o in outages.items()
        if not any(t is not None and t <= o.onset - lead_s for e, t in onsets.items() if e not in outages)
    }


def _has_run(silent: np.ndarray) -> bool:
    """Return True when two consecutive incident rows are silent (one lost scrape is not a stop)."""
    return bool(np.any(silent[1:] & silent[:-1]))


def outage_score(outage: Outage, full_deviation: float) -> float:
    """Return the score of an outage: a full-scale deviation, in proportion to the share of silenced columns."""
    return full_deviation * outage.share


def explained_by_outage(
    onsets: Mapping[str, float | None], outages: Mapping[str, Outage], *, lead_s: float
) -> dict[str, str]:
    """Return, per entity that did not stop, the stopped entity that explains it.

    Callers of a stopped entity fail or wait from the moment it stops, so every entity whose
    deviation began no earlier than `lead_s` before the first outage is taken as its effect. With
    several outages the one with the larger silenced share (then the earlier) explains the rest.
    """
    if not outages:
        return {}
    head = max(outages.values(), key=lambda o: (o.share, -o.onset))
    return {
        entity: head.entity
        for entity, onset in onsets.items()
        if entity not in outages and (onset is None or onset >= head.onset - lead_s)
    }
