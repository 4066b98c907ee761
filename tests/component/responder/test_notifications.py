"""The responder's notifications through its bus: one channel down, never twice, unknown outcomes, no secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from services.responder.core import OWN_TOPICS, Responder
from services.responder.domain.state import NotificationStatus
from services.responder.handlers import register
from services.responder.notify.channel import RetryPolicy
from services.responder.notify.registry import ChannelSpec, Route, build_channel
from services.responder.notify.sender import Sender
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS, NOTIFICATIONS, RECOVERY
from tests.component.harness import BusHarness
from tests.unit.services.responder.helpers import Recorder, anomaly, at, command, policy

pytestmark = pytest.mark.component

SECRET = "s3cr3t-hmac-key-for-tests"
QUICK = RetryPolicy(attempts=2, backoff_s=0, timeout_s=0.05)


async def _yes() -> bool:
    return True


async def responder(
    harness: BusHarness,
    channels: dict[m.Team, dict[str, Any]],
    *,
    settings: ResponderSettings | None = None,
    retry: RetryPolicy = QUICK,
    still_owner: Callable[[], Awaitable[bool]] | None = None,
) -> Responder:
    """A responder instance: subscribed as the service subscribes it, on a bus of the harness, its clock at 0."""
    settings = settings or ResponderSettings()
    service = Service.create("responder", settings)
    routes = {
        team: {name: Route(channel, retry) for name, channel in chans.items()} for team, chans in channels.items()
    }
    sender = Sender(routes, console_url="http://c")
    core = Responder(service.bus, policy(), sender, clock=lambda: at(0), still_owner=still_owner or _yes)
    register(service, core, settings)
    await harness.attach(service.bus)
    return core


async def restart(harness: BusHarness, crashed: Responder, channels: dict[m.Team, dict[str, Any]]) -> Responder:
    """A new instance in place of ``crashed``, rebuilt from the topics as ``Responder.rebuild`` does."""
    await harness.detach(crashed.bus)
    again = await responder(harness, channels)
    await harness.rebuild(again.bus, OWN_TOPICS, again.fold, inputs=(RECOVERY,), clock=again.clock)
    await again.settle_unknown()
    return again


def emitted(harness: BusHarness, by: Responder | None = None) -> list[ev.Event]:
    bus = by.bus if by is not None else None
    return [*harness.published(INCIDENTS, by=bus), *harness.published(NOTIFICATIONS, by=bus)]


async def test_one_channel_down_does_not_block_others_and_failure_is_reported_on_the_incident(
    harness: BusHarness,
) -> None:
    good, down = Recorder("good"), Recorder("down", down=True)
    core = await responder(harness, {m.Team.L1: {"good": good, "down": down}})
    await harness.feed(ANOMALIES, anomaly("api"))
    await core.tick()
    await core.drain()
    assert len(good.sent) == 1
    kinds = [type(e).__name__ for e in harness.published(NOTIFICATIONS)]
    assert kinds.count("NotificationDispatched") == 2
    assert kinds.count("NotificationDelivered") == 1 and kinds.count("NotificationFailed") == 1
    notes = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentNoteAdded)]
    assert notes and "timed out" in notes[0].data.reason


async def test_a_notification_is_never_sent_twice_redelivery_replay_or_restart(harness: BusHarness) -> None:
    good = Recorder("good")
    channels = {m.Team.L1: {"good": good}}
    core = await responder(harness, channels)
    first = anomaly("api")
    records = await harness.feed(ANOMALIES, first)
    await harness.deliver(ANOMALIES, records)  # redelivered
    await harness.feed(ANOMALIES, first)  # published twice upstream
    await core.tick()
    await core.tick()
    await core.drain()
    assert len(good.sent) == 1
    # restart: a new responder rebuilt from the same log sends nothing new, the anomaly replayed or not
    again = await restart(harness, core, channels)
    await harness.feed(ANOMALIES, first)
    await again.tick()
    await again.drain()
    assert len(good.sent) == 1 and emitted(harness, by=again) == []


async def test_an_instance_whose_assignment_is_no_longer_current_records_and_sends_nothing(
    harness: BusHarness,
) -> None:
    good, current = Recorder("good"), False

    async def still_owner() -> bool:
        return current

    core = await responder(harness, {m.Team.L1: {"good": good}}, still_owner=still_owner)
    await harness.feed(ANOMALIES, anomaly("api"))
    await core.tick()
    await core.drain()
    assert good.sent == [] and harness.published(NOTIFICATIONS) == []  # the current owner sends it
    current = True  # the assignment came back here
    await core.tick()
    await core.drain()
    assert len(good.sent) == 1


async def test_dispatched_without_outcome_is_reported_unknown_and_not_resent(harness: BusHarness) -> None:
    good = Recorder("good")
    channels = {m.Team.L1: {"good": good}}
    core = await responder(harness, channels)
    await harness.feed(ANOMALIES, anomaly("api"))
    await core.tick()
    for task in list(core.sending):  # the process dies mid-send
        task.cancel()
    await asyncio.gather(*core.sending, return_exceptions=True)
    assert not any(isinstance(e, ev.NotificationDelivered) for e in harness.published(NOTIFICATIONS))
    restarted = await restart(harness, core, channels)
    await restarted.tick()
    await restarted.drain()
    mine = emitted(harness, by=restarted)
    failed = [e for e in mine if isinstance(e, ev.NotificationFailed)]
    assert len(failed) == 1 and "outcome unknown" in failed[0].data.detail
    assert not any(isinstance(e, ev.NotificationDispatched) for e in mine)
    assert good.sent == []
    assert set(restarted.book.notifications.values()) == {NotificationStatus.FAILED}


async def test_ack_and_resolve_notify_the_teams_that_were_paged(harness: BusHarness) -> None:
    good = Recorder("good")
    core = await responder(harness, {m.Team.L1: {"good": good}, m.Team.L2: {"good": Recorder("l2")}})
    await harness.feed(ANOMALIES, anomaly("api"))
    await core.tick()
    iid = next(iter(core.book.incidents))
    await harness.feed(COMMANDS, command(ev.AcknowledgeRequested, iid, t=1))
    await harness.feed(COMMANDS, command(ev.ResolveRequested, iid, t=2))
    await core.drain()
    kinds = [e.data.kind for e in harness.published(NOTIFICATIONS) if isinstance(e, ev.NotificationDispatched)]
    assert kinds == ["page", "acknowledge", "resolve"]


async def test_secrets_never_appear_in_logs_events_or_settings_repr(
    harness: BusHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESPONDER_SECRETS__HOOK", SECRET)
    spec = ChannelSpec(
        type="webhook", name="hook", url="http://127.0.0.1:9/x", secret="hook", attempts=2, backoff_s=0, timeout_s=1
    )
    settings = ResponderSettings(routes={m.Team.L1: [spec]})
    assert SECRET not in repr(settings) and SECRET not in settings.model_dump_json()
    async with httpx.AsyncClient() as client:
        channel = build_channel(settings.routes[m.Team.L1][0], settings.secrets, client)
        retry = RetryPolicy(attempts=2, backoff_s=0, timeout_s=1)
        core = await responder(harness, {m.Team.L1: {"hook": channel}}, settings=settings, retry=retry)
        caplog.set_level(logging.DEBUG)
        await harness.feed(ANOMALIES, anomaly("api"))
        await core.tick()
        await core.drain()
    assert any(isinstance(e, ev.NotificationFailed) for e in harness.published(NOTIFICATIONS))
    records = [entry.record for entries in harness.log.values() for entry in entries]
    assert records and all(SECRET.encode() not in (r.value or b"") for r in records)
    assert all(SECRET.encode() not in value for r in records for _, value in r.headers)
    assert SECRET not in caplog.text
