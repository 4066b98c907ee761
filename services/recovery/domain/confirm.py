"""Whether an incident reported from outside may trigger an automatic action (pure: time is an argument).

An Alertmanager alert is someone else's claim about a target: a label naming a managed target is
enough to open and page an incident, not to restart a healthy process. An incident whose anomalies
all came from outside therefore gets an automatic action only when

* the target's own fresh metrics confirm the incident's problem class (it is down, its CPU or error
  rate or latency is over the recovery's health limits), or
* every alert rule involved is allow-listed for the target in the recovery catalog
  (``targets.<name>.external_rules``).

Otherwise the incident stays opened and paged, and no action runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from services.recovery.domain.verify import HealthPolicy
from shared import metric_names as mn
from shared.ids import EXTERNAL_ANOMALY_PREFIX
from shared.models import Incident


@dataclass(frozen=True)
class LatestScrape:
    """The newest metric values of one target and when they were observed (Unix seconds)."""

    at: float
    values: Mapping[str, float]


def is_external_only(incident: Incident) -> bool:
    """Tell whether every anomaly of the incident came from an external alert (none from our detector)."""
    ids = incident.anomaly_ids
    return bool(ids) and all(a.startswith(EXTERNAL_ANOMALY_PREFIX + "-") for a in ids)


def signals_confirm(
    problem: str, scrape: LatestScrape | None, *, now: float, max_age_s: float, policy: HealthPolicy
) -> tuple[bool, str]:
    """Return (confirmed, why): whether the target's own fresh metrics show the problem class."""
    if scrape is None:
        return False, "no scrape of the target"
    if now - scrape.at > max_age_s:
        return False, f"newest scrape is {now - scrape.at:.0f}s old"
    v = scrape.values
    if problem == "down":
        down = [n for n in (mn.PROCESS_UP, mn.HTTP_UP) if n in v and v[n] < 1]
        return (True, f"{down[0]}=0") if down else (False, "the target's process and endpoint are up")
    if problem == "cpu" and v.get(mn.PROCESS_CPU, 0.0) >= policy.cpu_percent_max:
        return True, f"{mn.PROCESS_CPU}={v[mn.PROCESS_CPU]:.3g}"
    if problem == "errors" and v.get(mn.HTTP_ERROR_RATE, 0.0) >= policy.error_rate_max:
        return True, f"{mn.HTTP_ERROR_RATE}={v[mn.HTTP_ERROR_RATE]:.3g}"
    if problem == "latency" and v.get(mn.HTTP_LATENCY_P95, 0.0) >= policy.latency_floor_ms:
        return True, f"{mn.HTTP_LATENCY_P95}={v[mn.HTTP_LATENCY_P95]:.4g}"
    return False, f"the target's own metrics do not show {problem!r}"


def external_action_allowed(
    incident: Incident,
    problem: str,
    scrape: LatestScrape | None,
    *,
    allowed_rules: Collection[str],
    now: float,
    max_age_s: float,
    policy: HealthPolicy,
) -> tuple[bool, str]:
    """Return (allowed, why) for an automatic action on an incident (always allowed unless external-only)."""
    if not is_external_only(incident):
        return True, "the detector's own anomalies are part of the incident"
    rules = set(incident.signals)
    if rules and rules <= set(allowed_rules):
        return True, f"alert rule(s) {', '.join(sorted(rules))} allow-listed for {incident.target!r}"
    confirmed, why = signals_confirm(problem, scrape, now=now, max_age_s=max_age_s, policy=policy)
    if confirmed:
        return True, f"external alert confirmed by the target's metrics ({why})"
    return False, f"external alert not confirmed by the target's own signals ({why}) and not allow-listed"
