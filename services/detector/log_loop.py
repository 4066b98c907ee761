"""Background log analysis: follow the log index, mine templates, publish log-pattern anomalies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from services.detector.adapters.es_logs import LogSource, LogSourceError
from services.detector.adapters.state_store import StateStore, StateStoreError
from services.detector.domain.logwatch import LogWatch, LogWatchConfig
from services.detector.domain.tracker import Emission
from services.detector.emit import publish_emissions
from services.detector.settings import LogSettings
from shared.bus import EventBus

log = logging.getLogger(__name__)

LOG_STATE_KEY: Final = "logs:state"
RETRY_S: Final = 2.0


class LogLoop:
    """Follows one log source; ticks pattern analysis every poll interval and checkpoints it."""

    def __init__(
        self,
        bus: EventBus,
        source: LogSource,
        store: StateStore | None,
        settings: LogSettings,
        config: LogWatchConfig,
        *,
        checkpoint_s: float = 0.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bus = bus
        self.source = source
        self.store = store
        self.settings = settings
        self.config = config
        self.clock = clock
        self.checkpoint_s = checkpoint_s
        self._saved_at = 0.0
        self.watch = LogWatch(config)
        self.ingested = 0
        self._saved_at_count = -1
        self.last_error = ""
        self.unsent: list[Emission] = []
        self._stop = asyncio.Event()

    async def restore(self) -> None:
        """Load the checkpointed miner, cursor and open episodes, if any."""
        if self.store is None:
            return
        try:
            stored = (await self.store.load()).get(LOG_STATE_KEY)
        except StateStoreError as exc:
            log.warning("log state not restored: %s", exc)
            return
        if stored is None:
            return
        try:
            self.watch = LogWatch.loads(stored.value, self.config)
            log.info("restored log state: %d templates, cursor %s", len(self.watch.miner), self.watch.cursor)
        except ValueError as exc:
            log.warning("ignoring unreadable log state: %s", exc)

    async def follow(self) -> None:
        """Feed every new log record to the watch until stopped; resume from the cursor after errors."""
        while not self._stop.is_set():
            start = self.watch.cursor or self.clock() - timedelta(seconds=self.settings.lookback_s)
            try:
                async for record in self.source.follow(
                    start, poll_seconds=self.settings.poll_interval_s, stop=self._stop
                ):
                    try:
                        self.watch.ingest(record)
                    except Exception:  # one record that breaks the analysis must not stop the loop
                        log.exception("log record %s skipped", record.doc_id)
                    self.ingested += 1
            except LogSourceError as exc:
                if str(exc) != self.last_error:  # an index that does not exist yet is normal: say it once
                    log.warning("log source failed, retrying every %.0f s: %s", RETRY_S, exc)
                self.last_error = str(exc)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY_S):
                        await self._stop.wait()

    async def tick_forever(self) -> None:
        """Publish log anomalies and checkpoint every poll interval."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval_s):
                    await self._stop.wait()
            try:
                await self.tick()
            except Exception:  # broker or store trouble: unsent revisions wait for the next round
                log.exception("log analysis round failed")

    async def tick(self) -> int:
        """Run one analysis round now; return how many anomaly revisions were published."""
        now = self.clock()
        emissions, self.unsent = self.unsent + self.watch.tick(now), []
        try:
            sent = await publish_emissions(self.bus, emissions, time=now)
        except Exception:
            self.unsent = emissions
            raise
        await self.save(force=bool(emissions))
        return sent

    async def save(self, *, force: bool = True) -> None:
        """Checkpoint the log state if it changed (and, unless forced, the checkpoint interval passed)."""
        if self.store is None or (not force and time.monotonic() - self._saved_at < self.checkpoint_s):
            return
        if force or self.ingested != self._saved_at_count:
            await self.store.save(LOG_STATE_KEY, self.watch.dumps())
            self._saved_at_count, self._saved_at = self.ingested, time.monotonic()

    def stop(self) -> None:
        """Ask both loops to finish."""
        self._stop.set()
