from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.responder.domain.outbox import (
    UNKNOWN_OUTCOME,
    Outcome,
    dispatch_record,
    notification_id,
    outcome_records,
    owed_by_book,
    owed_notices,
    unknown_outcomes,
)
from services.responder.domain.state import NoticeKind, fold_notification_event
from services.responder.notify.channel import ChannelError, DeliveryFailed, Outbound, RetryPolicy, deliver
from services.responder.notify.messages import render
from services.responder.notify.pagerduty import PagerDutyChannel
from services.responder.notify.registry import ChannelSpec, Route, SecretMissing, build_channel
from services.responder.notify.sender import Sender
from services.responder.notify.webhook import SIGNATURE_HEADER, WebhookChannel, verify
from shared import events as ev
from shared import models as m
from tests.unit.services.responder.helpers import Recorder, Sim, anomaly, at, command

SECRET = "s3cr3t-hmac-key-for-tests"


def paged_state() -> Any:
    sim = Sim()
    sim.anomaly(anomaly("api", impact=m.Impact.SERVICE_DOWN), t=0)
    sim.tick(0)
    return sim


def outbound(kind: NoticeKind = NoticeKind.PAGE, language: str = "en") -> Outbound:
    inc = paged_state().only().incident
    msg = render(
        inc, kind, m.Team.L1, "why", language=language, console_url="http://c", runbook_template="http://rb/{service}"
    )  # type: ignore[arg-type]
    return Outbound("ntf-1", kind, m.Team.L1, inc, msg)


def test_outbox_owes_one_notice_per_trigger_team_channel_with_stable_ids() -> None:
    state = paged_state().only()
    routes = {m.Team.L1: ["log", "hook"], m.Team.L2: ["log"], m.Team.L3: ["log"]}
    owed = owed_notices(state, routes, set(), now=at(1), max_age_s=60)
    assert sorted((n.team.value, n.channel) for n in owed) == [("L1", "hook"), ("L1", "log"), ("L2", "log")]
    again = owed_notices(state, routes, set(), now=at(1), max_age_s=60)
    assert [n.notification_id for n in owed] == [n.notification_id for n in again]
    done = {n.notification_id for n in owed}
    assert owed_notices(state, routes, done, now=at(2), max_age_s=60) == []
    assert owed_notices(state, routes, set(), now=at(100), max_age_s=60) == []
    assert notification_id("e", m.Team.L1, "log") != notification_id("e", m.Team.L2, "log")


def test_the_book_owes_the_notices_of_the_incidents_this_instance_owns() -> None:
    sim = paged_state()
    routes = {m.Team.L1: ["log"], m.Team.L2: ["log"]}
    state = sim.only()
    owed = owed_by_book(sim.book, routes, owns=lambda _incident: True, now=at(1), max_age_s=60)
    assert owed == owed_notices(state, routes, set(), now=at(1), max_age_s=60) and len(owed) == 2
    assert owed_by_book(sim.book, routes, owns=lambda _incident: False, now=at(1), max_age_s=60) == []


def test_the_book_passes_over_an_incident_whose_newest_trigger_is_older_than_the_age_limit() -> None:
    sim = paged_state()
    state = sim.only()
    assert state.triggers and state.newest_trigger_at == max(t.at for t in state.triggers)
    routes = {m.Team.L1: ["log"], m.Team.L2: ["log"]}
    for now in (at(59), at(61), at(600)):
        expected = owed_notices(state, routes, set(), now=now, max_age_s=60)
        assert owed_by_book(sim.book, routes, owns=lambda _incident: True, now=now, max_age_s=60) == expected
    assert owed_by_book(sim.book, routes, owns=lambda _incident: True, now=at(600), max_age_s=60) == []
    incident_id = state.incident.incident_id
    sim.command(command(ev.AcknowledgeRequested, incident_id, t=500), t=500)  # a new trigger: owed again
    assert sim.only().newest_trigger_at == at(500)
    assert len(owed_by_book(sim.book, routes, owns=lambda _incident: True, now=at(501), max_age_s=60)) == 2


def test_the_records_of_a_dispatch_and_of_each_outcome() -> None:
    state = paged_state().only()
    notice = owed_notices(state, {m.Team.L1: ["log"]}, set(), now=at(1), max_age_s=60)[0]
    dispatched = dispatch_record(notice, now=at(1))
    assert isinstance(dispatched, ev.NotificationDispatched) and dispatched.time == at(1)
    assert dispatched.data.notification_id == notice.notification_id and dispatched.subject == notice.incident_id
    assert dispatched.data.detail == notice.trigger.reason
    [delivered] = outcome_records(notice, Outcome(True, 2, "HTTP 200"), state, now=at(2))
    assert isinstance(delivered, ev.NotificationDelivered)
    assert (delivered.data.attempt, delivered.data.detail, delivered.time) == (2, "HTTP 200", at(2))
    [quiet] = outcome_records(notice, Outcome(True, 1, ""), state, now=at(2))
    assert quiet.data.detail == notice.trigger.reason
    failed, note = outcome_records(notice, Outcome(False, 3, "timed out after 1s"), state, now=at(3))
    assert isinstance(failed, ev.NotificationFailed) and failed.data.attempt == 3
    assert isinstance(note, ev.IncidentNoteAdded)
    assert note.data.reason == "notification page via log to L1 failed: timed out after 1s"
    assert [type(e) for e in outcome_records(notice, Outcome(False, 1, "x"), None, now=at(3))] == [
        ev.NotificationFailed
    ]


def test_a_dispatch_without_an_outcome_is_reported_unknown_once_settled() -> None:
    sim = paged_state()
    notice = owed_notices(sim.only(), {m.Team.L1: ["log"]}, set(), now=at(1), max_age_s=60)[0]
    dispatched = dispatch_record(notice, now=at(1))
    fold_notification_event(sim.book, dispatched)
    unknown, note = unknown_outcomes(sim.book, now=at(5))
    assert isinstance(unknown, ev.NotificationFailed) and unknown.data.detail == UNKNOWN_OUTCOME
    assert unknown.causationid == dispatched.id and unknown.time == at(5)
    assert isinstance(note, ev.IncidentNoteAdded) and "unknown: outcome unknown" in note.data.reason
    fold_notification_event(sim.book, unknown)
    assert unknown_outcomes(sim.book, now=at(6)) == []


def test_messages_carry_severity_what_since_evidence_and_links_in_both_languages() -> None:
    en = outbound().message
    assert en.title.startswith("[CRITICAL] api:")
    for needle in (
        "Since:",
        "Evidence:",
        "observed 900ms",
        "Runbook: http://rb/api",
        "Console: http://c/#/incidents/inc-",
    ):
        assert needle in en.body
    ko = outbound(language="ko").message
    assert ko.title.startswith("[심각(Critical)]")
    for needle in ("발생 시각", "근거", "런북", "콘솔"):
        assert needle in ko.body
    assert outbound(NoticeKind.RESOLVE).message.title.startswith("[RESOLVED]")


async def test_webhook_signature_verifies_and_idempotency_key_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        channel = WebhookChannel("hook", "http://hook.test/x", SecretStr(SECRET), client)
        await channel.send_once(outbound())
    req = seen[0]
    assert req.headers["X-Idempotency-Key"] == "ntf-1"
    assert verify(SECRET.encode(), req.content, req.headers[SIGNATURE_HEADER])
    assert not verify(b"other", req.content, req.headers[SIGNATURE_HEADER])
    assert json.loads(req.content)["incident"]["severity"] == "critical"


async def test_webhook_errors_are_classified_retryable_or_final() -> None:
    statuses = iter([503, 400])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        channel = WebhookChannel("hook", "http://hook.test/x", None, client)
        with pytest.raises(ChannelError) as first:
            await channel.send_once(outbound())
        assert first.value.retryable
        with pytest.raises(ChannelError) as second:
            await channel.send_once(outbound())
        assert not second.value.retryable


async def test_pagerduty_uses_incident_id_as_dedup_key_and_maps_actions() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json={"status": "success"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        pd = PagerDutyChannel("pd", SecretStr("rk-123"), client, "http://pd.test/v2/enqueue")
        for kind in NoticeKind:
            await pd.send_once(outbound(kind))
    assert [b["event_action"] for b in bodies] == ["trigger", "acknowledge", "resolve", "trigger"]
    assert len({b["dedup_key"] for b in bodies}) == 1 and bodies[0]["dedup_key"].startswith("inc-")
    assert bodies[0]["payload"]["severity"] == "critical"
    assert "APPROVAL NEEDED" in bodies[3]["payload"]["summary"]  # an approval request: same incident, its summary


class Flaky:
    name = "flaky"
    kind = "test"

    def __init__(self, failures: int, *, retryable: bool = True) -> None:
        self.failures = failures
        self.retryable = retryable
        self.calls = 0

    async def send_once(self, outbound: Outbound) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ChannelError("boom", retryable=self.retryable)
        return "ok"


async def test_deliver_retries_with_exponential_backoff_then_gives_up() -> None:
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    sent = await deliver(Flaky(2), outbound(), RetryPolicy(attempts=3, backoff_s=1), sleep=sleep)
    assert sent.attempts == 3 and sleeps == [1, 2]
    with pytest.raises(DeliveryFailed) as failed:
        await deliver(Flaky(5), outbound(), RetryPolicy(attempts=3, backoff_s=1), sleep=sleep)
    assert failed.value.attempts == 3
    final = Flaky(5, retryable=False)
    with pytest.raises(DeliveryFailed):
        await deliver(final, outbound(), RetryPolicy(attempts=3, backoff_s=1), sleep=sleep)
    assert final.calls == 1


def test_channel_specs_need_their_secrets_from_the_environment() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(SecretMissing, match="RESPONDER_SECRETS__PD"):
        build_channel(ChannelSpec(type="pagerduty", secret="pd"), {}, client)
    assert build_channel(ChannelSpec(type="pagerduty", secret="pd"), {"pd": SecretStr("k")}, client).name == "pagerduty"


class Crashing:
    name = "crashing"
    kind = "test"

    async def send_once(self, outbound: Outbound) -> str:
        raise RuntimeError("secret-bearing text")


async def test_the_sender_only_sends_and_returns_the_outcome_counting_it_per_channel() -> None:
    state = paged_state().only()
    registry = CollectorRegistry()
    once = RetryPolicy(attempts=1, backoff_s=0)
    channels: dict[str, Any] = {"good": Recorder("good"), "final": Flaky(5, retryable=False), "crashing": Crashing()}
    sender = Sender({m.Team.L1: {n: Route(c, once) for n, c in channels.items()}}, registry=registry)
    assert sender.channels == {m.Team.L1: ("good", "final", "crashing")}
    notices = {n.channel: n for n in owed_notices(state, sender.channels, set(), now=at(1), max_age_s=60)}
    assert await sender.send(notices["good"], state.incident) == Outcome(True, 1, "ok")
    assert await sender.send(notices["final"], state.incident) == Outcome(False, 1, "boom")
    assert await sender.send(notices["crashing"], state.incident) == Outcome(False, 1, "channel error RuntimeError")
    assert channels["good"].sent == [notices["good"].notification_id]

    def counted(channel: str, outcome: str) -> float | None:
        return registry.get_sample_value("ir_responder_notifications_total", {"channel": channel, "outcome": outcome})

    assert (counted("good", "delivered"), counted("final", "failed"), counted("crashing", "failed")) == (1, 1, 1)
    assert counted("good", "failed") is None


def test_message_title_and_since_carry_human_times_not_iso() -> None:
    inc = (
        paged_state()
        .only()
        .incident.model_copy(update={"title": "http.up = 0: down since 2026-12-05T14:03:07.123+00:00"})
    )
    msg = render(inc, NoticeKind.PAGE, m.Team.L1, "why", language="en", console_url="http://c", runbook_template="")
    assert msg.title.endswith("down since 2026-12-05 14:03:07 UTC"), msg.title
    assert "T14:03" not in msg.body and re.search(r"Since: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", msg.body)
