"""The demo stack's configuration for the security faults (issue 17): the signals they leave, their containment.

* Collector: the demo's ``demo_auth_failures_total`` is published as ``auth.failures_per_s`` (the
  security signal the recovery verifier checks), and ``demo_egress_bytes_total`` as
  ``net.sent_bytes_per_s``, the demo's own outbound traffic, whose learned level the detector's leak
  rule watches as it does the host's ``host.net_sent_bytes_per_s`` (a target-level name: the RCA
  then names the demo, not its host, as the entity whose traffic rose).
* Recovery: ``isolate:demo-public`` takes the demo out of HAProxy's public rotation (security),
  ``isolate:demo-egress`` cuts its egress (leak); both wait for a person on a Critical incident
  (60 s, denied by default). No rollback is declared: containment fails closed, a person re-opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from incidentctl.demo_security import AUTH_FAILURES_METRIC, EGRESS_BYTES_METRIC
from incidentctl.estate import haproxy
from incidentctl.estate.runner import EstateState

AUTH_FAILURES_SERIES: Final = "auth.failures_total"
"""Published as a rate by the collector: ``auth.failures_per_s`` (``shared.metric_names.AUTH_FAILURES``)."""
EGRESS_SERIES: Final = "net.sent_bytes_total"
"""Published as a rate by the collector: ``net.sent_bytes_per_s`` (``shared.metric_names.NET_SENT``)."""
PUBLIC_ISOLATE: Final = "demo-public"
EGRESS_ISOLATE: Final = "demo-egress"
EMERGENCY_APPROVAL: Final[dict[str, Any]] = {"severities": ["critical"], "timeout_s": 60, "default": "deny"}
"""Critical emergency actions wait for a person: approve or deny within a minute, else denied."""
CONTAINMENT_REMEDIES: Final[dict[str, tuple[str, ...]]] = {
    "security": (f"isolate:{PUBLIC_ISOLATE}",),
    "leak": (f"isolate:{EGRESS_ISOLATE}",),
}
"""Problem class -> the containment actions of the demo (each approved first)."""


def security_endpoint(demo_url: str) -> dict[str, Any]:
    """The collector's exposition endpoint of the demo's security counters (see the module docstring)."""
    name = "__name__"
    return {
        "url": demo_url + "/metrics",
        "name": "security",
        "http": None,
        "relabel": [
            {"action": "keep", "source_labels": [name], "regex": f"{AUTH_FAILURES_METRIC}|{EGRESS_BYTES_METRIC}"},
            {"source_labels": [name], "regex": EGRESS_BYTES_METRIC, "target_label": name, "replacement": EGRESS_SERIES},
            {
                "source_labels": [name],
                "regex": AUTH_FAILURES_METRIC,
                "target_label": name,
                "replacement": AUTH_FAILURES_SERIES,
            },
        ],
        "node": None,
        "metrics": [AUTH_FAILURES_SERIES.replace(".", r"\."), EGRESS_SERIES.replace(".", r"\.")],
    }


def security_recovery(estate: EstateState, target: str) -> dict[str, Any]:
    """Recovery's containment actions on ``target`` through the estate's HAProxy runtime API."""
    socket = str(estate.admin_socket)
    return {
        "isolate_actions": [
            {
                "name": PUBLIC_ISOLATE,
                "target": target,
                "socket": socket,
                "backend": haproxy.WEB_BACKEND,
                "server": haproxy.WEB_SERVER,
            },
            {
                "name": EGRESS_ISOLATE,
                "target": target,
                "socket": socket,
                "backend": haproxy.EGRESS_BACKEND,
                "server": haproxy.EGRESS_SERVER,
            },
        ],
        "targets": {
            target: {
                "remedies": {problem: list(actions) for problem, actions in CONTAINMENT_REMEDIES.items()},
                "approval": {a: EMERGENCY_APPROVAL for actions in CONTAINMENT_REMEDIES.values() for a in actions},
            }
        },
    }


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in: mappings key by key, lists concatenated, anything else replaced."""
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merged(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            out[key] = [*old, *value]
        else:
            out[key] = value
    return out
