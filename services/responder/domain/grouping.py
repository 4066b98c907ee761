"""Group anomalies into incidents: the labels of an anomaly and the group key they form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.responder.domain.anomaly import AnomalyView
from shared.ids import derive_id
from shared.metric_names import HOST_TARGET_PREFIX


def anomaly_labels(anomaly: AnomalyView) -> dict[str, str]:
    """Return the labels rules match on: the anomaly's own labels plus derived ones.

    Derived labels (an explicit label of the same name wins): ``service`` (defaults to the
    target), ``target``, ``host``, ``signal``, ``kind``, ``impact``, ``fingerprint`` and
    ``scope`` (``host`` for host scrapes ``host:<name>``, else ``service``).
    """
    target = anomaly.target
    scope = "host" if target.startswith(HOST_TARGET_PREFIX) else "service"
    host = anomaly.host or (target.removeprefix(HOST_TARGET_PREFIX) if scope == "host" else "")
    derived = {
        "service": target,
        "target": target,
        "host": host,
        "signal": anomaly.signal,
        "kind": anomaly.kind._value_,  # ``_value_``: the member's value without the ``value`` property's call
        "impact": anomaly.impact._value_,
        "fingerprint": anomaly.fingerprint,
        "scope": scope,
    }
    if anomaly.labels:
        derived.update(anomaly.labels)
    return derived


def group_key(labels: Mapping[str, str], group_by: Sequence[str]) -> str:
    """Return the key of the group the labels belong to (``service=api,host=h1``)."""
    return ",".join(f"{name}={labels.get(name, '')}" for name in group_by)


def matches(labels: Mapping[str, str], matchers: Mapping[str, str]) -> bool:
    """Return True if every matcher equals the label of the same name (``*`` matches any present value)."""
    for name, wanted in matchers.items():
        value = labels.get(name)
        if value is None or (wanted != "*" and value != wanted):
            return False
    return True


def incident_id_for(key: str, first_event_id: str) -> str:
    """Return the deterministic id of the incident opened for ``key`` by event ``first_event_id``."""
    return "inc-" + derive_id("incident", key, first_event_id).replace("-", "")[:12]
