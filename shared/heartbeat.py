"""Heartbeats: every service instance says on the bus that it is alive, ready and how far behind it is."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import events as ev
from shared import models as m

if TYPE_CHECKING:
    from shared.runtime import Service

log = logging.getLogger(__name__)


def heartbeat_event(service: Service, *, sequence: int, stopping: bool = False) -> ev.ServiceHeartbeat:
    """The heartbeat ``service`` would send now (its id is unique per instance start and sequence)."""
    now = time.monotonic()
    consumers = tuple(
        m.ConsumerStatus(
            topic=member.topic.removeprefix(service.settings.topic_prefix),
            group=member.group_id,
            joined=member.progress.joined,
            partitions=tuple(sorted(member.assigned_partitions())),
            lag=sum(member.progress.lag.values()),
            stalled_s=round(member.progress.stalled_for(now), 1),
        )
        for member in service.bus.members
    )
    handled = [mb.progress.last_handled_at for mb in service.bus.members if mb.progress.last_handled_at is not None]
    data = m.ServiceHeartbeat(
        service=service.name,
        instance=service.settings.instance_id,
        pid=os.getpid(),
        ready=service.is_ready(),
        started_at=service.started_at,
        sequence=sequence,
        interval_s=service.settings.heartbeat_interval_s,
        consumers=consumers,
        last_event_at=datetime.fromtimestamp(max(handled), UTC) if handled else None,
        stopping=stopping,
    )
    parts = (service.name, service.settings.instance_id, service.started_at.isoformat(), sequence)
    return ev.ServiceHeartbeat.create(data, source=service.bus.source, id_parts=parts, subject=service.name)


async def publish_heartbeats(service: Service) -> None:
    """Send a heartbeat every ``heartbeat_interval_s`` until cancelled (a failed send is only logged)."""
    while True:
        service.beats += 1
        try:
            await service.bus.publish(heartbeat_event(service, sequence=service.beats), key=service.name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker is away: the watchdog notices the silence, that is the point
            log.warning("heartbeat %d not sent: %s", service.beats, exc)
        await asyncio.sleep(service.settings.heartbeat_interval_s)


async def say_goodbye(service: Service) -> None:
    """Send the last heartbeat of a planned stop, so the watchers do not take the silence for an outage."""
    if not service.broker.running or service.beats == 0:
        return
    service.beats += 1
    try:
        event = heartbeat_event(service, sequence=service.beats, stopping=True)
        async with asyncio.timeout(5.0):
            await service.bus.publish(event, key=service.name)
    except Exception as exc:  # stopping anyway; the watchers will report the silence
        log.warning("last heartbeat not sent: %s", exc)


def service_status(service: Service, beat: m.ServiceHeartbeat) -> dict[str, Any]:
    """The JSON of ``/status``: the heartbeat's facts plus per-partition lag and liveness."""
    body = beat.model_dump(mode="json")
    body["alive"] = service.is_alive()
    for row, member in zip(body["consumers"], service.bus.members, strict=True):
        row["lag_by_partition"] = {str(p): n for p, n in sorted(member.progress.lag.items())}
        row["handled"] = member.progress.handled
        row["joins"] = member.progress.joins
    return body
