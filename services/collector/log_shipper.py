"""Ship watched services' log files into Elasticsearch: tail, group traces, bulk-index, then save offsets.

Offsets are saved only after Elasticsearch accepted every document up to them, and reading stops
while a batch is being retried, so an Elasticsearch outage delays lines but never loses them (they
wait in the file); a crash re-reads from the last saved offset and the derived document ids make
the re-sent documents overwrite themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from services.collector.adapters.elasticsearch_sink import LogSink, SinkUnavailable
from services.collector.adapters.offset_store import JsonOffsetStore
from services.collector.adapters.tailer import FileTailer
from services.collector.domain.logdocs import LogDocument, to_document
from services.collector.domain.loglines import LogRecord, MultilineGrouper
from services.collector.domain.offsets import Cursor, FileId

log = logging.getLogger(__name__)


@dataclass
class LogSource:
    """One file of one service, its tailer and its multi-line grouper."""

    service: str
    path: Path
    tailer: FileTailer
    grouper: MultilineGrouper = field(default_factory=MultilineGrouper)
    current: FileId | None = None


@dataclass(frozen=True, slots=True)
class ShipperOptions:
    """Tuning of the shipper (seconds)."""

    index_prefix: str = "application-logs"
    batch_max: int = 500
    multiline_idle_s: float = 1.0
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0


class LogShipper:
    """Moves new log records of every source into the sink; ``ship_once`` is one pass."""

    def __init__(
        self,
        files: Sequence[tuple[str, Path]],
        sink: LogSink,
        store: JsonOffsetStore,
        *,
        host: str,
        options: ShipperOptions = ShipperOptions(),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sink, self.store, self.host, self.options = sink, store, host, options
        self.clock, self.wall_clock, self.sleep = clock, wall_clock, sleep
        self.sources = [LogSource(svc, p, FileTailer(p, store.get(p))) for svc, p in files]
        self.shipped = 0

    def _collect(self, source: LogSource) -> tuple[list[tuple[FileId, LogRecord]], int]:
        now = self.clock()
        out: list[tuple[FileId, LogRecord]] = []
        read = 0
        for chunk in source.tailer.read():
            if source.current is not None and chunk.file != source.current:
                out += [(source.current, r) for r in source.grouper.flush_all()]
            source.current = chunk.file
            for line in chunk.lines:
                out += [(chunk.file, r) for r in source.grouper.feed(line, now=now)]
            read += len(chunk.lines)
            if chunk.finished:
                out += [(chunk.file, r) for r in source.grouper.flush_all()]
        if source.current is not None:
            idle = source.grouper.flush(now=now, idle_s=self.options.multiline_idle_s)
            out += [(source.current, r) for r in idle]
        return out, read

    async def ship_once(self) -> int:
        """Read, group and index what is new in every file; return the number of lines read."""
        total = 0
        for source in self.sources:
            records, read = self._collect(source)
            total += read
            read_at = self.wall_clock()
            for start in range(0, len(records), self.options.batch_max):
                batch = records[start : start + self.options.batch_max]
                docs = [
                    to_document(
                        r,
                        service=source.service,
                        host=self.host,
                        path=str(source.path),
                        file=f,
                        index_prefix=self.options.index_prefix,
                        read_at=read_at,
                    )
                    for f, r in batch
                ]
                await self._deliver(docs)
                file, last = batch[-1]
                self.store.save(source.path, Cursor(file, last.end))
                self.shipped += len(docs)
        return total

    async def _deliver(self, docs: list[LogDocument]) -> None:
        """Write ``docs`` until the sink took all of them, backing off exponentially between tries."""
        pending, delay = docs, self.options.retry_initial_s
        while pending:
            try:
                pending = await self.sink.write(pending)
            except SinkUnavailable as exc:
                log.warning("log store unavailable, retrying in %.1fs: %s", delay, exc)
            if pending:
                await self.sleep(delay)
                delay = min(delay * 2, self.options.retry_max_s)

    async def run(self, poll_s: float) -> None:
        """Ship forever; poll again at once while files have a backlog."""
        while True:
            try:
                read = await self.ship_once()
            except OSError:
                log.exception("reading log files failed")
                read = 0
            if read == 0:
                await self.sleep(poll_s)

    def close(self) -> None:
        """Close the followed files."""
        for source in self.sources:
            source.tailer.close()
