"""Anomaly episodes: one problem on one signal is one anomaly, detected once, updated, resolved.

The tracker sits after `evidence.combine`: while any source has evidence for a signal the episode
stays open; it is reported again (a new revision) only when it changes materially - a worse
impact, a firmer kind, a score ``score_step`` higher than last reported, or an observed value that grew
``growth`` times; and it resolves once no source has had evidence for ``close_delay_s``, so a
flapping signal stays one episode. The anomaly id derives from target, signal and episode start,
and each revision's event id from (anomaly id, revision): replaying the same inputs gives the
same ids, which the bus then refuses to publish twice.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar

from services.detector.domain.evidence import IMPACT_RANK, Evidence
from shared.ids import short_id
from shared.models import Anomaly, AnomalyKind

KIND_RANK: Final = {
    AnomalyKind.STATISTICAL: 1,
    AnomalyKind.LOG_PATTERN: 1,
    AnomalyKind.DEGRADATION: 2,
    AnomalyKind.THRESHOLD: 3,
    AnomalyKind.TARGET_DOWN: 4,
}
"""A confirmation by a firmer source (a fixed limit over a statistical hunch) is news; the reverse is not."""

K = TypeVar("K", bound=Hashable)

MAX_SAMPLE_CHARS: Final = 4096
"""Log samples and summaries in an anomaly are cut to this many characters."""


class Change(StrEnum):
    """What an emission says about its episode."""

    DETECTED = "detected"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Emission:
    """An anomaly revision to publish."""

    change: Change
    anomaly: Anomaly


@dataclass(frozen=True, slots=True)
class Episode:
    """An open anomaly episode: its last reported revision, its latest state and when evidence was last seen."""

    anomaly: Anomaly
    last_evidence: datetime
    latest: Anomaly | None = None


def dump_episode(episode: Episode) -> tuple[dict[str, Any], str, dict[str, Any] | None]:
    """Return ``episode`` as JSON values: its anomaly, when evidence was last seen, its latest state."""
    latest = episode.latest.model_dump(mode="json") if episode.latest is not None else None
    return episode.anomaly.model_dump(mode="json"), episode.last_evidence.isoformat(), latest


def load_episode(anomaly: dict[str, Any], last_evidence: str, latest: dict[str, Any] | None) -> Episode:
    """Rebuild an episode from the values ``dump_episode`` returned."""
    return Episode(
        Anomaly.model_validate(anomaly),
        datetime.fromisoformat(last_evidence),
        Anomaly.model_validate(latest) if latest else None,
    )


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """When an episode is updated and when it closes."""

    close_delay_s: float = 120.0
    score_step: float = 0.2
    growth: float = 2.0


def anomaly_id(target: str, signal: str, since: datetime) -> str:
    """Return the deterministic id of the episode of ``signal`` on ``target`` that began at ``since``."""
    return short_id("an", target, signal, since.isoformat())


def track(
    episode: Episode | None,
    evidence: Evidence | None,
    *,
    target: str,
    host: str,
    now: datetime,
    config: TrackerConfig,
) -> tuple[Episode | None, Emission | None]:
    """Advance one signal's episode with this round's combined evidence (``None`` = none)."""
    if evidence is None:
        if episode is None:
            return None, None
        if now - episode.last_evidence < timedelta(seconds=config.close_delay_s):
            return episode, None
        return None, resolution(episode)
    if episode is None:
        fresh = _anomaly(
            evidence, target=target, host=host, anomaly_id=anomaly_id(target, evidence.signal, evidence.since)
        )
        fresh = fresh.model_copy(update={"last_seen": now})
        return Episode(fresh, now), Emission(Change.DETECTED, fresh)
    last = episode.anomaly
    current = _anomaly(evidence, target=target, host=host, anomaly_id=last.anomaly_id)
    current = current.model_copy(update={"since": last.since, "last_seen": now, "revision": last.revision})
    episode = replace(episode, last_evidence=now, latest=current)
    if not _material(last, current, config):
        return episode, None
    revised = current.model_copy(update={"revision": last.revision + 1})
    return replace(episode, anomaly=revised, latest=None), Emission(Change.UPDATED, revised)


def resolution(episode: Episode, *, note: str = "", labels: dict[str, str] | None = None) -> Emission:
    """The revision that resolves ``episode``: its latest state, score 0, with ``note`` and ``labels`` added."""
    final = episode.latest or episode.anomaly
    update: dict[str, Any] = {"revision": episode.anomaly.revision + 1, "score": 0.0}
    if note:
        update["summary"] = f"{final.summary}; {note}"[:MAX_SAMPLE_CHARS]
    if labels:
        update["labels"] = {**final.labels, **labels}
    return Emission(Change.RESOLVED, final.model_copy(update=update))


def advance(
    episodes: dict[K, Episode],
    key: K,
    evidence: Evidence | None,
    *,
    target: str,
    host: str,
    now: datetime,
    config: TrackerConfig,
) -> Emission | None:
    """`track` the episode kept under ``key`` in ``episodes``, store what it becomes (drop it once resolved)."""
    episode, emission = track(episodes.get(key), evidence, target=target, host=host, now=now, config=config)
    if episode is None:
        episodes.pop(key, None)
    else:
        episodes[key] = episode
    return emission


def _material(last: Anomaly, now: Anomaly, config: TrackerConfig) -> bool:
    if IMPACT_RANK.get(now.impact, 0) > IMPACT_RANK.get(last.impact, 0):
        return True
    if KIND_RANK.get(now.kind, 0) > KIND_RANK.get(last.kind, 0):
        return True
    if now.score >= last.score + config.score_step:
        return True
    if now.labels.get("budget") != last.labels.get("budget"):
        return True  # a burst was merged into this episode by the false-positive budget
    if now.observed is None or last.observed is None or last.observed == 0:
        return False
    return abs(now.observed) >= config.growth * abs(last.observed)


def _anomaly(evidence: Evidence, *, target: str, host: str, anomaly_id: str) -> Anomaly:
    return Anomaly(
        anomaly_id=anomaly_id,
        fingerprint=f"{target}/{evidence.signal}",
        kind=evidence.kind,
        target=target,
        host=host,
        signal=evidence.signal,
        impact=evidence.impact,
        score=min(1.0, max(0.0, evidence.score)),
        observed=evidence.observed,
        expected=evidence.expected,
        threshold=evidence.threshold,
        unit=evidence.unit,
        direction=evidence.direction,
        since=evidence.since,
        last_seen=evidence.since,
        summary=evidence.summary[:MAX_SAMPLE_CHARS],
        labels=dict(evidence.labels),
        samples=tuple(s[:MAX_SAMPLE_CHARS] for s in evidence.samples),  # a log record may be longer than an event field
    )
