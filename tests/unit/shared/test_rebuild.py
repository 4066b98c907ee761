"""A rebuild folds what the edge admits and skips the rest; a record that breaks the fold never stops it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from shared import events as ev
from shared.rebuild import fold_replay
from shared.settings import ServiceSettings
from tests.factories import anomaly, at, metrics

NOW_MS = int(at(0).timestamp() * 1000)


async def stream(events: list[ev.Envelope[Any]]) -> AsyncIterator[tuple[Any, ev.Envelope[Any]]]:
    for offset, event in enumerate(events):
        yield SimpleNamespace(topic="t", partition=0, offset=offset, timestamp=NOW_MS), event


async def test_bad_records_are_skipped_with_their_reason() -> None:
    future = metrics(t=0, x=1.0).model_copy(update={"time": datetime(9999, 1, 1, tzinfo=UTC)})
    breaking = anomaly(t=1)
    good = [metrics(t=2, x=1.0), anomaly(t=3, signal="mem")]
    seen: list[str] = []

    def apply(event: ev.Envelope[Any]) -> None:
        if event.id == breaking.id:
            raise KeyError("boom")
        seen.append(event.id)

    folded = await fold_replay(stream([future, breaking, *good]), apply, ServiceSettings(), clock=lambda: at(0))
    assert folded.applied == 2 and seen == [e.id for e in good]
    reasons = [reason for _, reason in folded.skipped]
    assert "after the record" in reasons[0] and reasons[1].startswith("rebuild could not fold: KeyError")
