"""Problem classes: what kind of trouble one anomaly (or one incident) is, and which class explains which.

One definition shared by the responder (an incident per problem class of a target, see
`services/responder/domain/lifecycle.py`) and readers of incidents. The cues follow the recovery
planner's (``down``, ``errors``, ``latency``, ``cpu``, ``memory``, ``other``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from shared.models import Impact

CLASS_CUES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("down", ("exit", "down", "crash", "unreachable")),
    ("errors", ("error", "5xx", "fail", "exception")),
    ("latency", ("latency", "duration", "slow", "p50", "p95", "p99", "throughput")),
    ("cpu", ("cpu", "load")),
    ("memory", ("memory", "rss", "oom")),
)

EXPLAINS: Final[dict[str, frozenset[str]]] = {
    "down": frozenset({"errors", "latency", "cpu", "memory", "other"}),
    "cpu": frozenset({"latency"}),
    "memory": frozenset({"latency"}),
    "errors": frozenset(),
    "latency": frozenset(),
    "other": frozenset(),
}
"""Which classes a class accounts for while it lasts: a target that is down also fails requests."""

CAUSED_BY_RECOVERY: Final = "recovery"
"""The ``caused_by`` label value of an anomaly that a recovery action of this project brought about."""


def problem_class(signal: str, impact: Impact) -> str:
    """Return the problem class of one signal with its impact (``down`` first, ``other`` last)."""
    if impact is Impact.SERVICE_DOWN:
        return "down"
    name = signal.lower()
    if name.rsplit(".", 1)[-1] == "up":
        return "down"
    for cls, cues in CLASS_CUES:
        if any(cue in name for cue in cues):
            return cls
    if name.startswith("log:"):
        return "errors"
    return "other"


def signal_of(fingerprint: str, target: str) -> str:
    """Return the signal of a detector fingerprint (``<target>/<signal>``)."""
    return fingerprint.removeprefix(target + "/")


def explains(cause: str, symptom: str) -> bool:
    """Return True if trouble of class ``cause`` accounts for an anomaly of class ``symptom`` (or they are equal)."""
    return cause == symptom or symptom in EXPLAINS.get(cause, frozenset())


def within_disruption(since: datetime, started: datetime, ended: datetime | None, window_s: float) -> bool:
    """Return True if an episode that began at ``since`` lies in a recovery step's disruption window.

    The window opens when the step starts and closes ``window_s`` after it completed (or after it
    started, while it runs): what a restart does to its target in that time is the cure, not a fault.
    """
    close = (ended or started) + timedelta(seconds=window_s)
    return started <= since <= close
