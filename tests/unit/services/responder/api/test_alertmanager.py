"""Alertmanager webhook v4 payloads become anomaly events: mapping, idempotency, validation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.responder.api.alertmanager import WebhookPayload, impact_of, target_of, to_events
from services.responder.api.settings import AlertmanagerMapping
from shared import events as ev
from shared import models as m

NOW = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
MAPPING = AlertmanagerMapping()


def payload(status: str = "firing", **alert_overrides: Any) -> dict[str, Any]:
    alert = {
        "status": status,
        "labels": {
            "alertname": "HighErrorRate",
            "job": "checkout",
            "instance": "10.0.0.7:9100",
            "severity": "critical",
        },
        "annotations": {"summary": "5xx above 5% for 5m"},
        "startsAt": "2026-01-01T12:00:00Z",
        "endsAt": "2026-01-01T12:04:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "c6b4ad4b3b5d2a0e",
    }
    alert.update(alert_overrides)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "incidentctl",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
    }


def events_of(body: dict[str, Any], now: datetime = NOW) -> list[ev.Envelope]:
    return to_events(WebhookPayload.model_validate(body), MAPPING, now=now)


def test_firing_alert_becomes_an_external_anomaly() -> None:
    (event,) = events_of(payload())
    assert isinstance(event, ev.AnomalyDetected)
    a = event.data
    assert (a.kind, a.target, a.signal, a.impact, a.host) == (
        m.AnomalyKind.EXTERNAL, "checkout", "HighErrorRate", m.Impact.SERVICE_DOWN, "10.0.0.7"
    )  # fmt: skip
    assert a.summary == "5xx above 5% for 5m"
    assert a.since == datetime(2026, 1, 1, 12, tzinfo=UTC) and a.last_seen == NOW
    assert a.labels["service"] == "checkout" and a.labels["source"] == "alertmanager"
    assert a.labels["generator_url"].startswith("http://prometheus")
    assert event.subject == "checkout" and event.time == NOW


def test_redelivery_yields_the_same_event_id() -> None:
    first = events_of(payload(), now=NOW)[0]
    again = events_of(payload(), now=datetime(2026, 1, 1, 12, 9, tzinfo=UTC))[0]
    assert first.id == again.id and first.data.anomaly_id == again.data.anomaly_id


def test_a_new_episode_of_the_same_alert_gets_a_new_id() -> None:
    first = events_of(payload())[0]
    later = events_of(payload(startsAt="2026-01-01T13:00:00Z"))[0]
    assert first.data.anomaly_id != later.data.anomaly_id


def test_resolved_alert_closes_the_same_episode() -> None:
    fired = events_of(payload())[0]
    (resolved,) = events_of(payload("resolved"))
    assert isinstance(resolved, ev.AnomalyResolved)
    assert resolved.data.anomaly_id == fired.data.anomaly_id and resolved.id != fired.id
    assert resolved.data.last_seen == datetime(2026, 1, 1, 12, 4, tzinfo=UTC) == resolved.time


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"service": "api", "job": "j", "instance": "i"}, "api"),
        ({"job": "j", "instance": "i"}, "j"),
        ({"instance": "i:1"}, "i:1"),
        ({"alertname": "X"}, "alertmanager"),
        ({"service": "", "job": "j"}, "j"),
    ],
)
def test_target_label_order(labels: dict[str, str], expected: str) -> None:
    assert target_of(labels, MAPPING) == expected


def test_target_label_order_is_configurable() -> None:
    mapping = AlertmanagerMapping(target_labels=("instance", "job"))
    assert target_of({"job": "j", "instance": "i"}, mapping) == "i"


@pytest.mark.parametrize(
    ("severity", "annotations", "expected"),
    [
        ("critical", {}, m.Impact.SERVICE_DOWN),
        ("CRITICAL", {}, m.Impact.SERVICE_DOWN),
        ("warning", {}, m.Impact.PARTIAL_OUTAGE),
        ("info", {}, m.Impact.SLIGHT_DEGRADATION),
        ("unheard-of", {}, m.Impact.PARTIAL_FUNCTION),
        ("info", {"impact": "data_loss"}, m.Impact.DATA_LOSS),
        ("critical", {"impact": "not-an-impact"}, m.Impact.SERVICE_DOWN),
    ],
)
def test_impact_mapping(severity: str, annotations: dict[str, str], expected: m.Impact) -> None:
    body = payload(annotations=annotations)
    body["alerts"][0]["labels"]["severity"] = severity
    alert = WebhookPayload.model_validate(body).alerts[0]
    assert impact_of(alert, MAPPING) == expected


def test_missing_fingerprint_falls_back_to_labels() -> None:
    a = events_of(payload(fingerprint=""))[0]
    b = events_of(payload(fingerprint=""))[0]
    other = copy.deepcopy(payload(fingerprint=""))
    other["alerts"][0]["labels"]["instance"] = "10.0.0.8:9100"
    assert a.id == b.id != events_of(other)[0].id


def test_naive_times_are_taken_as_utc() -> None:
    (event,) = events_of(payload(startsAt="2026-01-01T12:00:00"))
    assert event.data.since.tzinfo is not None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b.update(alerts=[]), "alerts"),
        (lambda b: b["alerts"][0].pop("startsAt"), "startsAt"),
        (lambda b: b["alerts"][0].update(status="pending"), "status"),
        (lambda b: b.pop("groupKey"), "groupKey"),
    ],
)
def test_invalid_payloads_are_rejected(mutate: Any, field: str) -> None:
    body = payload()
    mutate(body)
    with pytest.raises(ValidationError, match=field):
        WebhookPayload.model_validate(body)
