from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from services.collector.adapters.elasticsearch_sink import SinkUnavailable
from services.collector.adapters.offset_store import JsonOffsetStore
from services.collector.domain.logdocs import LogDocument
from services.collector.log_shipper import LogShipper, ShipperOptions

LINES = (
    b"2026-11-25 07:00:00,000 INFO demo [T] GET / 200\n"
    b"2026-11-25 07:00:01,000 ERROR demo [T] Payment backend unavailable: upstream returned 503\n"
    b"Traceback (most recent call last):\n"
    b'  File "/app/demo.py", line 9, in pay\n'
    b"UpstreamUnavailable: 503\n"
    b"2026-11-25 07:00:02,000 INFO demo [T] GET / 200\n"
)


class FlakySink:
    """Refuses the first ``down`` writes, then rejects item ``flaky_item`` once, then stores everything."""

    def __init__(self, down: int = 0, *, partial_once: bool = False) -> None:
        self.down = down
        self.partial_once = partial_once
        self.stored: dict[str, LogDocument] = {}
        self.calls = 0

    async def write(self, docs: Sequence[LogDocument]) -> list[LogDocument]:
        self.calls += 1
        if self.down > 0:
            self.down -= 1
            raise SinkUnavailable("connection refused")
        if self.partial_once and len(docs) > 1:
            self.partial_once = False
            self.stored |= {d.doc_id: d for d in docs[1:]}
            return list(docs[:1])
        self.stored |= {d.doc_id: d for d in docs}
        return []


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def make(tmp_path: Path, sink: FlakySink, clock: Clock, **opts: float) -> LogShipper:
    return LogShipper(
        [("demo", tmp_path / "demo.log")],
        sink,
        JsonOffsetStore(tmp_path / "state"),
        host="h1",
        options=ShipperOptions(index_prefix="application-logs", **opts),  # type: ignore[arg-type]
        clock=clock,
        wall_clock=lambda: datetime(2026, 11, 25, 9, tzinfo=UTC),
        sleep=clock.sleep,
    )


async def test_ships_records_with_fields_and_keeps_the_last_until_idle(tmp_path: Path) -> None:
    (tmp_path / "demo.log").write_bytes(LINES)
    sink, clock = FlakySink(), Clock()
    shipper = make(tmp_path, sink, clock, multiline_idle_s=1.0)
    assert await shipper.ship_once() == 6
    docs = sorted(sink.stored.values(), key=lambda d: d.source["log"]["offset"])
    assert [d.source["level"] for d in docs] == ["INFO", "ERROR"]
    error = docs[1].source
    assert error["message"].count("\n") == 3 and error["message"].endswith("UpstreamUnavailable: 503")
    assert error["@timestamp"] == "2026-11-25T07:00:01+00:00"
    assert (error["service"], error["host"]) == ("demo", "h1")
    assert docs[1].index == "application-logs-2026.11.25"
    clock.t += 1.5
    await shipper.ship_once()
    assert len(sink.stored) == 3


async def test_nothing_is_lost_while_the_store_is_down(tmp_path: Path) -> None:
    (tmp_path / "demo.log").write_bytes(LINES)
    sink, clock = FlakySink(down=4, partial_once=True), Clock()
    shipper = make(tmp_path, sink, clock, multiline_idle_s=0.0, retry_initial_s=0.5, retry_max_s=2.0)
    await shipper.ship_once()
    assert len(sink.stored) == 3
    assert clock.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]  # 4 outages, then one partial failure, backoff capped


async def test_restart_resumes_after_the_shipped_offset_without_duplicates(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    log.write_bytes(LINES)
    sink, clock = FlakySink(), Clock()
    await make(tmp_path, sink, clock, multiline_idle_s=0.0).ship_once()
    first_calls = sink.calls
    with log.open("ab") as fh:
        fh.write(b"2026-11-25 07:00:03,000 WARNING demo [T] slow request\n")
    again = make(tmp_path, sink, clock, multiline_idle_s=0.0)
    assert await again.ship_once() == 1
    assert len(sink.stored) == 4 and sink.calls == first_calls + 1


async def test_unshipped_pending_record_is_read_again_after_restart(tmp_path: Path) -> None:
    (tmp_path / "demo.log").write_bytes(LINES)
    sink, clock = FlakySink(), Clock()
    await make(tmp_path, sink, clock, multiline_idle_s=5.0).ship_once()  # last record held back
    assert len(sink.stored) == 2
    await make(tmp_path, sink, clock, multiline_idle_s=0.0).ship_once()
    assert len(sink.stored) == 3
    assert sorted(d.source["log"]["offset"] for d in sink.stored.values())[-1] == LINES.rindex(b"2026")
