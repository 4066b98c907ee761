"""Alertmanager webhook (version 4) payloads and their mapping to anomaly events (pure).

Each alert becomes one anomaly episode of kind ``external``. The episode id is derived from the
alert's fingerprint and ``startsAt``, and event ids from the episode id and the alert status, so
Alertmanager's repeated deliveries of the same firing (or resolved) alert yield the same event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.responder.api.settings import AlertmanagerMapping
from shared import events as ev
from shared import models as m
from shared.ids import EXTERNAL_ANOMALY_PREFIX, derive_id, short_id

SOURCE: Final = "/services/responder/alertmanager"
FIRING_SCORE: Final = 1.0  # a rule that fired is certain by its author's definition


class WebhookAlert(BaseModel):
    """One alert of a webhook delivery (field names are Alertmanager's)."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = ""

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _utc_if_naive(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class WebhookPayload(BaseModel):
    """Alertmanager's webhook body, version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str
    truncatedAlerts: int = 0
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[WebhookAlert] = Field(min_length=1)


def alert_fingerprint(alert: WebhookAlert) -> str:
    """Return Alertmanager's fingerprint, or a stable one from the sorted labels if it sent none."""
    return alert.fingerprint or derive_id("labels", *sorted(alert.labels.items()))


def target_of(labels: dict[str, str], mapping: AlertmanagerMapping) -> str:
    """Return the value of the first configured target label present."""
    return next((labels[k] for k in mapping.target_labels if labels.get(k)), mapping.default_target)


def impact_of(alert: WebhookAlert, mapping: AlertmanagerMapping) -> m.Impact:
    """Return the impact named by the impact annotation/label, else mapped from the severity label."""
    named = alert.annotations.get(mapping.impact_annotation) or alert.labels.get(mapping.impact_annotation)
    if named and named.strip().lower() in m.Impact._value2member_map_:
        return m.Impact(named.strip().lower())
    severity = alert.labels.get(mapping.severity_label, "").strip().lower()
    table = {k.lower(): v for k, v in mapping.severity_impacts.items()}
    return table.get(severity, mapping.default_impact)


def to_anomaly(
    alert: WebhookAlert, payload: WebhookPayload, mapping: AlertmanagerMapping, *, now: datetime
) -> m.Anomaly:
    """Map one alert to the anomaly episode it reports."""
    target = target_of(alert.labels, mapping)
    signal = alert.labels.get(mapping.signal_label) or "alert"
    fingerprint = alert_fingerprint(alert)
    ended = _ended_at(alert)
    summary = (
        alert.annotations.get("summary")
        or alert.annotations.get("description")
        or payload.commonAnnotations.get("summary")
        or f"{signal} firing on {target}"
    )
    labels = {**alert.labels, "source": "alertmanager", "receiver": payload.receiver}
    labels.setdefault("service", target)
    if alert.generatorURL:
        labels["generator_url"] = alert.generatorURL
    return m.Anomaly(
        anomaly_id=short_id(EXTERNAL_ANOMALY_PREFIX, fingerprint, alert.startsAt.isoformat()),
        fingerprint=f"alertmanager/{fingerprint}",
        kind=m.AnomalyKind.EXTERNAL,
        target=target,
        host=alert.labels.get(mapping.host_label, "").split(":")[0],
        signal=signal,
        impact=impact_of(alert, mapping),
        score=FIRING_SCORE if alert.status == "firing" else 0.0,
        since=min(alert.startsAt, now),  # a start claimed in the future is taken as now (never ahead of the clock)
        last_seen=min(max(ended or now, alert.startsAt), now),
        revision=1 if alert.status == "firing" else 2,
        summary=summary[:500],
        labels=labels,
    )


def to_events(payload: WebhookPayload, mapping: AlertmanagerMapping, *, now: datetime) -> list[ev.AnomalyEvent]:
    """Return one AnomalyDetected (firing) or AnomalyResolved (resolved) event per alert."""
    out: list[ev.AnomalyEvent] = []
    for alert in payload.alerts:
        anomaly = to_anomaly(alert, payload, mapping, now=now)
        cls: type[ev.AnomalyEvent] = ev.AnomalyDetected if alert.status == "firing" else ev.AnomalyResolved
        out.append(
            cls.create(
                anomaly,
                source=SOURCE,
                id_parts=(anomaly.anomaly_id, alert.status),
                time=anomaly.last_seen if alert.status == "resolved" else now,
                subject=anomaly.target,
            )
        )
    return out


def _ended_at(alert: WebhookAlert) -> datetime | None:
    """``endsAt`` of a resolved alert; Alertmanager sends year 1 (or a future estimate) while firing."""
    if alert.status != "resolved" or alert.endsAt is None or alert.endsAt.year <= 1:
        return None
    return alert.endsAt
