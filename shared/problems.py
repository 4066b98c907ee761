"""Problem classes: what kind of trouble one anomaly (or one incident) is, and which class explains which.

One definition shared by the responder (an incident per problem class of a target, see
`services/responder/domain/lifecycle.py`) and readers of incidents. The cues follow the recovery
planner's (``down``, ``errors``, ``latency``, ``cpu``, ``memory``, ``other``). The manual's Critical
classes ``security``, ``leak`` and ``data_loss`` come from the anomaly itself: its ``problem`` label
(the detector's log-template classes, the outbound-traffic leak, the data-loss rules), else its impact
(``security``, ``data_loss``); each opens its own incident and explains no other class.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
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

CRITICAL_CLASSES: Final = ("security", "leak", "data_loss")
"""The manual's Critical classes besides ``down``: security incident, data leak, data loss."""

CRITICAL_BY_IMPACT: Final = {Impact.SECURITY: "security", Impact.DATA_LOSS: "data_loss"}

EXPLAINS: Final[dict[str, frozenset[str]]] = {
    "down": frozenset({"errors", "latency", "cpu", "memory", "other"}),
    "cpu": frozenset({"latency"}),
    "memory": frozenset({"latency"}),
    "errors": frozenset(),
    "latency": frozenset(),
    "other": frozenset(),
    "security": frozenset(),
    "leak": frozenset(),
    "data_loss": frozenset(),
}
"""Which classes a class accounts for while it lasts: a target that is down also fails requests."""

CAUSED_BY_RECOVERY: Final = "recovery"
"""The ``caused_by`` label value of an anomaly that a recovery action of this project brought about."""


def problem_class(signal: str, impact: Impact, labels: Mapping[str, str] | None = None) -> str:
    """Return the problem class of one signal with its impact and labels (``down`` first, ``other`` last).

    A ``problem`` label naming a Critical class wins (a leak has the impact ``data_loss``); the
    impacts ``security`` and ``data_loss`` name their class.
    """
    if impact is Impact.SERVICE_DOWN:
        return "down"
    labelled = (labels or {}).get("problem", "")
    if labelled in CRITICAL_CLASSES:
        return labelled
    if impact in CRITICAL_BY_IMPACT:
        return CRITICAL_BY_IMPACT[impact]
    return _signal_class(signal)


@functools.lru_cache(maxsize=1 << 12)
def _signal_class(signal: str) -> str:
    """The class a signal's name tells (remembered: the responder asks for every anomaly, twice)."""
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


def recovery_may_cause(signal: str, impact: Impact, labels: Mapping[str, str] | None = None) -> bool:
    """Whether a recovery action could bring such an anomaly about (its target down, errors, slowness).

    Never one of the Critical classes: a restart or a failover does not drop a table, send data out
    or fail logins. Such an anomaly dated in a step's disruption window is the fault's, not the
    cure's (a table dropped while a restart answered the write errors it caused: seen in the
    data-loss scenario, whose Critical anomaly had joined the restart's incident silently).
    """
    return problem_class(signal, impact, labels) not in CRITICAL_CLASSES


def within_disruption(since: datetime, started: datetime, ended: datetime | None, window_s: float) -> bool:
    """Return True if an episode that began at ``since`` lies in a recovery step's disruption window.

    The window opens when the step starts and closes ``window_s`` after it completed (or after it
    started, while it runs): what a restart does to its target in that time is the cure, not a fault.
    """
    close = (ended or started) + timedelta(seconds=window_s)
    return started <= since <= close
