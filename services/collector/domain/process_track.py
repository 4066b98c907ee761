"""Process identity across scrapes: is the watched process there, and how often was it replaced."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """A process instance: its pid and start time (a reused pid has a different start time)."""

    pid: int
    started_at: float


@dataclass(frozen=True, slots=True)
class ProcessTrack:
    """The last process instance seen for a target and the restarts counted since the collector started."""

    current: ProcessIdentity | None = None
    last_seen: ProcessIdentity | None = None
    restarts: int = 0

    @property
    def up(self) -> bool:
        """The process was found at the last scrape."""
        return self.current is not None


def observe_process(track: ProcessTrack, seen: ProcessIdentity | None) -> ProcessTrack:
    """Fold one scrape's finding into the track.

    A restart is counted when a process instance appears that differs from the last one seen,
    whether it replaced it between two scrapes or came back after being absent. The first process
    ever seen is not a restart.
    """
    if seen is None:
        return ProcessTrack(current=None, last_seen=track.last_seen, restarts=track.restarts)
    restarted = track.last_seen is not None and seen != track.last_seen
    return ProcessTrack(current=seen, last_seen=seen, restarts=track.restarts + int(restarted))
