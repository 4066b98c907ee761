"""Subscriptions of the responder: inputs in one consumer group, its own topics in a per-instance view."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from services.responder.core import Responder
from services.responder.domain.anomaly import AnomalyEventView
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import wire
from shared.bus import FastAdmission
from shared.consumer import GroupMember
from shared.handover import CatchUpOnAssign
from shared.runtime import Service
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS, NOTIFICATIONS, RECOVERY, SILENCES


def anomaly_moments(event: AnomalyEventView) -> tuple[datetime, datetime, datetime]:
    """``edge.observation_times`` of an anomaly event: its time, and its anomaly's start and last sighting."""
    return event.time, event.data.since, event.data.last_seen


def _as_view(event: ev.AnomalyEvent) -> AnomalyEventView:
    return event


FAST_ANOMALIES: Final[FastAdmission[ev.AnomalyEvent, AnomalyEventView]] = FastAdmission(
    decode=wire.decode_anomaly, moments=anomaly_moments, view=_as_view
)
"""Anomalies decoded by msgspec where the schema would certainly admit them (``shared.wire``), a fetch at once."""


def register(service: Service, responder: Responder, settings: ResponderSettings) -> GroupMember:
    """Subscribe the responder's handlers; return the anomaly subscriber (its assignment decides ownership).

    Anomalies, commands and recovery outcomes are each shared by the instances of one consumer group
    (one group per topic, so a member joining one does not rebalance the others); anomalies are
    taken a fetch at a time (``Responder.on_anomalies``), decoded by msgspec where the schema would certainly
    admit them (``FAST_ANOMALIES``). Incidents, notifications and silences are
    followed by every instance (groups of its own), so each instance's view includes what the
    others and the API wrote; the copies of what it emitted itself (folded at once) are passed over.
    """
    bus = service.bus
    hand_over = CatchUpOnAssign(responder.catch_up, hold=responder.lock)  # its dispatches known before it pages
    anomalies = bus.subscribe_batch(
        ANOMALIES, group_id=settings.group_id, handler=responder.on_anomalies, listener=hand_over, fast=FAST_ANOMALIES
    )
    bus.subscribe(COMMANDS, group_id=f"{settings.group_id}.commands", handler=responder.on_command)
    bus.subscribe(RECOVERY, group_id=f"{settings.group_id}.recovery", handler=responder.on_recovery)
    for topic in (INCIDENTS, NOTIFICATIONS, SILENCES):
        view_group = f"{settings.group_id}.view.{settings.instance_id}.{topic.name}"
        bus.subscribe(topic, group_id=view_group, handler=responder.on_own_event, has=responder.has_folded)
    return anomalies
