"""Inject a fault into the demo service through its chaos endpoint (``incidentctl chaos <fault>``)."""

from __future__ import annotations

from typing import Any, Final

import httpx

from shared.errors import CliError

FAULTS: Final = ("cpu-hog", "crash", "error-burst", "slow", "auth-attack", "exfiltrate", "reset")
"""Faults the demo service injects into itself (``/chaos/<fault>``)."""
ESTATE_FAULTS: Final = ("data-loss", "primary-down")
"""Faults of the demo's estate (`incidentctl.estate.faults`): a table dropped, the primary database killed."""
SECURITY_FAULTS: Final = ("auth-attack", "exfiltrate")
"""Faults the demo injects that need the estate: its public entrance and egress run through HAProxy."""
CRITICAL_FAULTS: Final = (*ESTATE_FAULTS, *SECURITY_FAULTS)
"""Faults of the manual's Critical class: their scenarios run the estate and an approved emergency action."""
SCENARIO_FAULTS: Final = ("crash", "cpu-hog", "error-burst", "slow", *CRITICAL_FAULTS)
"""Faults with an end-to-end scenario (``incidentctl scenario run``)."""


class ChaosError(CliError):
    """The fault could not be injected."""


def inject(
    fault: str, demo_url: str, *, duration_s: float | None = None, ratio: float | None = None, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Ask the demo service at ``demo_url`` to start ``fault``; return its answer.

    ``crash`` kills the process right after it replies, so a connection dropped after the request
    was sent also counts as injected. Raises ``ValueError`` for an unknown fault and ``ChaosError``
    when the service cannot be reached or refuses.
    """
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
    params = {"duration_s": str(duration_s)} if duration_s is not None else {}
    if ratio is not None:  # error-burst: the share of requests that fail
        params["ratio"] = str(ratio)
    url = f"{demo_url.rstrip('/')}/chaos/{fault}"
    try:
        response = httpx.post(url, params=params, timeout=timeout_s)
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        if fault == "crash":
            return {"fault": fault, "duration_s": None, "detail": f"connection closed: {type(exc).__name__}"}
        raise ChaosError(f"{url}: {type(exc).__name__}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ChaosError(f"{url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 200:
        raise ChaosError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body
