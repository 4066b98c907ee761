"""When the detector forgets a target the collector no longer scrapes: by its partition's stream time.

Targets come and go (pods, instances, retired hosts); the state of one that stopped being scraped
would otherwise be kept, checkpointed and restored for good, and an anomaly it had open when it
went (a crashing pod that was replaced) would stay open for good. A target is forgotten once the
newest scrape on its metrics partition is ``after_s`` newer than its own newest one; each anomaly it
still had open is resolved by a last revision that says why (label ``resolved_by: retention``).
Time is the scrapes' own (``observed_at``), never the wall clock: a collector that stopped
altogether forgets nothing, and a replay forgets what the live run forgot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

from services.detector.domain.tracker import Emission, Episode, resolution
from shared.models import RESOLVED_BY, RESOLVED_BY_RETENTION

SWEEP_EVERY_SHARE: Final = 0.01
"""A partition's targets are looked over each time its stream time moved on by this share of ``after_s``."""


class Tracked(Protocol):
    """What retention reads of a target's detector."""

    @property
    def target(self) -> str: ...

    @property
    def last_observed(self) -> datetime | None: ...

    @property
    def episodes(self) -> Mapping[str, Episode]: ...


@dataclass(slots=True)
class StreamTime:
    """The newest scrape time per metrics partition, and when each partition's targets were last looked over.

    ``after_s``: how long a target may be silent before it is forgotten (0: never).
    """

    after_s: float
    newest: dict[int, datetime] = field(default_factory=dict)
    swept: dict[int, datetime] = field(default_factory=dict)

    def saw(self, partition: int, observed_at: datetime) -> None:
        """Note a scrape taken from ``partition``."""
        newest = self.newest.get(partition)
        if newest is None or observed_at > newest:
            self.newest[partition] = observed_at

    def due(self, partitions: Iterable[int]) -> dict[int, datetime]:
        """The partitions whose targets are to be looked over now, each with its horizon; marks them looked over.

        A target on such a partition whose newest scrape is older than the horizon is silent.
        """
        if self.after_s <= 0:
            return {}
        every = timedelta(seconds=self.after_s * SWEEP_EVERY_SHARE)
        due = {}
        for partition in partitions:
            newest = self.newest.get(partition)
            if newest is None:
                continue
            swept = self.swept.get(partition)
            if swept is None:
                self.swept[partition] = newest  # the first look comes once the stream has moved on
            elif newest - swept >= every:
                self.swept[partition] = newest
                due[partition] = newest - timedelta(seconds=self.after_s)
        return due

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is known of partitions this instance no longer owns."""
        for partition in partitions:
            self.newest.pop(partition, None)
            self.swept.pop(partition, None)


def silent(detectors: Iterable[Tracked], horizon: datetime) -> list[str]:
    """The targets with no scrape since ``horizon``, in name order."""
    return sorted(d.target for d in detectors if d.last_observed is None or d.last_observed < horizon)


def farewells(detector: Tracked) -> list[Emission]:
    """The revisions that resolve the anomalies a forgotten target still had open, in signal order."""
    seen = detector.last_observed.isoformat() if detector.last_observed is not None else "never"
    note = f"no scrape since {seen}: the target is forgotten"
    labels = {RESOLVED_BY: RESOLVED_BY_RETENTION}
    return [resolution(episode, note=note, labels=labels) for _, episode in sorted(detector.episodes.items())]
