"""Inject a chaos fault into the demo service or its estate and record it on the chaos topic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from incidentctl.chaos import ChaosError, inject
from incidentctl.demo_config import DB_TARGET, DEMO_TARGET, DemoFiles, current_demo_pid
from incidentctl.estate import faults as estate_faults
from incidentctl.estate.runner import EstateState
from incidentctl.procs import alive
from shared import events as ev
from shared import models as m
from shared.runtime import Service

if TYPE_CHECKING:
    from incidentctl.stack import StackState


FAULT_TARGET: Final = {"primary-down": DB_TARGET}
"""The target a fault strikes, where it is not the demo service itself."""


async def inject_and_record(
    state: StackState, fault: str, *, ratio: float | None = None, duration_s: float | None = None
) -> datetime:
    """Inject ``fault`` (``ratio``: error-burst's share of failed requests; ``duration_s``: None until reset).

    Publishes ``FaultInjected``.
    """
    at = datetime.now(UTC)
    target = FAULT_TARGET.get(fault, DEMO_TARGET)
    if fault in estate_faults.ESTATE_FAULTS:
        detail: object = await asyncio.to_thread(estate_faults.inject, fault, EstateState.load(state.path))
    else:
        try:
            detail = await asyncio.to_thread(inject, fault, state.demo_url, ratio=ratio, duration_s=duration_s)
        except ChaosError as exc:
            raise ChaosError(f"{exc}; {demo_status(state)}") from exc
    service = Service.create("incidentctl", state.settings())
    await service.broker.start()
    try:
        event = ev.FaultInjected.create(
            m.FaultInjected(fault=fault, target=target, detail=str(detail)[:500]),
            source="/incidentctl/chaos",
            id_parts=(target, fault, at.isoformat()),
            time=at,
            subject=target,
        )
        await service.bus.publish(event, key=target)
    finally:
        await service.broker.stop()
    return at


def demo_status(state: StackState) -> str:
    """Whether the demo's process runs (by its pidfile) and the last line it logged: why a fault could not go in."""
    files, pid = DemoFiles.under(state.path), current_demo_pid(state.path)
    running = "the demo wrote no pidfile" if pid is None else f"demo pid {pid} {'runs' if alive(pid) else 'is gone'}"
    return (
        f"{running}; its log's last line: {_last_line(files.log_file)}; its output's: {_last_line(files.stdout_file)}"
    )


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(none)"
    return lines[-1][:300] if lines else "(none)"
