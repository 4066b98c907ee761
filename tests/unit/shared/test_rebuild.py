"""A rebuild folds what the edge admits and skips the rest; a record that breaks the fold never stops it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from shared import events as ev
from shared.ledger import Ledger
from shared.rebuild import fold_replayed
from shared.settings import ServiceSettings
from shared.topics import ANOMALIES, METRICS, Topic
from tests.factories import anomaly, at, metrics

NOW_MS = int(at(0).timestamp() * 1000)


async def stream(events: list[tuple[Topic[Any], ev.Event]]) -> AsyncIterator[tuple[Topic[Any], Any, ev.Event]]:
    for offset, (topic, event) in enumerate(events):
        yield topic, SimpleNamespace(topic=topic.name, partition=0, offset=offset, timestamp=NOW_MS), event


async def test_bad_records_are_skipped_with_their_reason() -> None:
    future = metrics(t=0, x=1.0).model_copy(update={"time": datetime(9999, 1, 1, tzinfo=UTC)})
    breaking = anomaly(t=1)
    misplaced = metrics(t=4, x=1.0)
    good = [(METRICS, metrics(t=2, x=1.0)), (ANOMALIES, anomaly(t=3, signal="mem"))]
    seen: list[str] = []

    def apply(event: ev.Event) -> None:
        if event.id == breaking.id:
            raise KeyError("boom")
        seen.append(event.id)

    replayed = stream([(METRICS, future), (ANOMALIES, breaking), *good, (ANOMALIES, misplaced)])
    ledger = Ledger()
    rebuilt = await fold_replayed(
        replayed, apply, own=[ANOMALIES], ledger=ledger, settings=ServiceSettings(), clock=lambda: at(0)
    )
    assert rebuilt.applied == 2 and seen == [e.id for _, e in good]
    reasons = [skipped.reason for skipped in rebuilt.skipped]
    assert "after the record" in reasons[0] and reasons[1].startswith("rebuild could not fold: KeyError")
    assert reasons[2] == f"event type {misplaced.type} does not belong on this topic"
    assert [skipped.topic for skipped in rebuilt.skipped] == [METRICS, ANOMALIES, ANOMALIES]
    # the ids of the service's own events are remembered as published, even one its fold failed on
    assert len(ledger) == 2 and breaking.id in ledger and good[1][1].id in ledger


async def test_without_a_fold_a_rebuild_only_loads_the_ledger() -> None:
    events = [anomaly(t=t, signal=f"s{t}") for t in range(3)]
    ledger = Ledger()
    rebuilt = await fold_replayed(
        stream([(ANOMALIES, e) for e in events]), None, own=[ANOMALIES], ledger=ledger, settings=ServiceSettings(),
        clock=lambda: at(0),
    )  # fmt: skip
    assert rebuilt.applied == 3 and rebuilt.skipped == []
    assert all(e.id in ledger for e in events)
