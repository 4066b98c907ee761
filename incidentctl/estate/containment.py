"""Checks that a security fault is contained, from the estate's own state (for scenarios and tests).

* auth-attack: HAProxy has the demo out of its public rotation (``demo/demo`` in maint), the public
  entrance refuses (503), and the demo's failed-login counter no longer moves;
* exfiltrate: the egress is cut (``egress/sink`` in maint) and the sink receives nothing more.

``reopen`` puts both servers back (what a person does once the incident is handled).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Final

import httpx

from incidentctl.demo_security import AUTH_FAILURES_METRIC
from incidentctl.estate import haproxy
from incidentctl.estate.runner import EstateState
from services.recovery.adapters.haproxy import HaproxyRuntimeApi

QUIET_S: Final = 2.0
"""How long a counter must stay still to count as stopped (the attack sends 20 a second, the export 16 a second)."""


def server_state(estate: EstateState, backend: str, server: str) -> str:
    """HAProxy's state of ``backend/server`` (``ready``, ``maint``, ``drain``...); ``unknown`` when absent."""
    found = asyncio.run(HaproxyRuntimeApi(str(estate.admin_socket)).servers_state())
    status = found.get((backend, server))
    return status.state if status is not None else "unknown"


def auth_failures(demo_url: str) -> float:
    """The demo's failed-login counter (its own /metrics)."""
    text = httpx.get(demo_url.rstrip("/") + "/metrics", timeout=5.0).text
    found = re.search(rf"^{AUTH_FAILURES_METRIC} (\S+)$", text, re.MULTILINE)
    if found is None:
        raise ValueError(f"{AUTH_FAILURES_METRIC} not on {demo_url}/metrics")
    return float(found.group(1))


def sink_bytes(estate: EstateState) -> int:
    """Bytes the egress sink has received."""
    return int(httpx.get(f"http://127.0.0.1:{estate.sink_port}/stats", timeout=5.0).json()["bytes"])


def _still(read: Callable[[], float], quiet_s: float) -> tuple[bool, float, float]:
    first = read()
    time.sleep(quiet_s)
    last = read()
    return first == last, first, last


def auth_attack_contained(estate: EstateState, demo_url: str, *, quiet_s: float = QUIET_S) -> tuple[bool, str]:
    """Whether the demo is out of public rotation and failed logins stopped reaching it; the evidence."""
    state = server_state(estate, haproxy.WEB_BACKEND, haproxy.WEB_SERVER)
    public = estate.public_url()
    try:
        status = httpx.get(f"{public}/", timeout=5.0).status_code if public else 0
    except httpx.HTTPError:
        status = 0
    still, first, last = _still(lambda: auth_failures(demo_url), quiet_s)
    evidence = (f"{haproxy.WEB_BACKEND}/{haproxy.WEB_SERVER} {state}; public entrance answers {status}; "
                f"failed logins {first:g} -> {last:g} in {quiet_s:g}s")  # fmt: skip
    return state == "maint" and status == 503 and still, evidence


def exfiltration_contained(estate: EstateState, *, quiet_s: float = QUIET_S) -> tuple[bool, str]:
    """Whether the egress is cut and the sink receives nothing more; the evidence."""
    state = server_state(estate, haproxy.EGRESS_BACKEND, haproxy.EGRESS_SERVER)
    still, first, last = _still(lambda: sink_bytes(estate), quiet_s)
    evidence = (
        f"{haproxy.EGRESS_BACKEND}/{haproxy.EGRESS_SERVER} {state}; sink bytes {first:g} -> {last:g} in {quiet_s:g}s"
    )
    return state == "maint" and still, evidence


def reopen(estate: EstateState) -> None:
    """Put the demo back in public rotation and re-open its egress."""
    api = HaproxyRuntimeApi(str(estate.admin_socket))
    for backend, server in ((haproxy.WEB_BACKEND, haproxy.WEB_SERVER), (haproxy.EGRESS_BACKEND, haproxy.EGRESS_SERVER)):
        asyncio.run(api.set_state(backend, server, "ready"))


def attack_contained_check(estate: EstateState) -> tuple[bool, dict[str, object]]:
    """`auth_attack_contained` as a scenario's fresh check (``incidentctl.fault_checks``)."""
    if estate.demo_port is None:
        return False, {"error": "the demo is not behind the estate's public entrance"}
    try:
        passed, evidence = auth_attack_contained(estate, f"http://127.0.0.1:{estate.demo_port}")
    except (httpx.HTTPError, ValueError, OSError) as exc:
        return False, {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return passed, {"evidence": evidence}


def egress_cut_check(estate: EstateState) -> tuple[bool, dict[str, object]]:
    """`exfiltration_contained` as a scenario's fresh check (``incidentctl.fault_checks``)."""
    if estate.sink_port is None:
        return False, {"error": "the demo has no egress through the estate"}
    try:
        passed, evidence = exfiltration_contained(estate)
    except (httpx.HTTPError, ValueError, OSError) as exc:
        return False, {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return passed, {"evidence": evidence}
