"""Scrape one exposition endpoint: fetch at the edge, parse off the event loop, derive samples, keep the last snapshot.

A failed scrape (unreachable, too large, garbled) is a ``scrape.up = 0`` sample with the reason's kind,
logged once per change of reason; the previous snapshot is kept, so the next good scrape's rates
cover the whole time since the last good one. With ``rate_window_s``, rates cover the consecutive
intervals of the last that many seconds (Prometheus' ``rate(x[window])``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.collector.adapters.exposition import ExpositionFetcher
from services.collector.domain.exposition import ExpositionError, is_openmetrics, parse_exposition, relabel
from services.collector.domain.signals import Interval, Snapshot, combined, in_window, increases, samples_of
from services.collector.exposition_config import ExpositionConfig
from shared import metric_names as mn
from shared.models import MetricSample

log = logging.getLogger(__name__)


def health_samples(
    endpoint: str, *, duration_ms: float, series: int | None, cut: int = 0, error: str | None = None
) -> list[MetricSample]:
    """The ``scrape.*`` samples of one endpoint's scrape (``error``: the failure's kind)."""
    labels = {"endpoint": endpoint}
    out = [
        MetricSample(
            name=mn.SCRAPE_UP, value=0.0 if error else 1.0, labels=labels | ({"error": error} if error else {})
        ),
        MetricSample(name=mn.SCRAPE_DURATION, value=duration_ms, unit="ms", labels=labels),
    ]
    if series is not None:
        out.append(MetricSample(name=mn.SCRAPE_SERIES, value=float(series), unit="count", labels=labels))
    if cut:
        out.append(MetricSample(name=mn.SCRAPE_CUT, value=float(cut), unit="count", labels=labels))
    return out


@dataclass
class EndpointScraper:
    """One endpoint of one target and the snapshot of its last good scrape."""

    target: str
    config: ExpositionConfig
    fetcher: ExpositionFetcher
    clock: Callable[[], float] = time.monotonic
    previous: Snapshot | None = None
    window: tuple[Interval, ...] = ()
    failing: str | None = field(default=None, repr=False)

    async def __call__(self) -> list[MetricSample]:
        """Take one scrape; never raises for what the endpoint sent."""
        config = self.config
        started = self.clock()
        try:
            fetched = await self.fetcher.fetch(config.url, timeout_s=config.timeout_s, max_bytes=config.max_bytes)
            parsed = await asyncio.to_thread(
                parse_exposition,
                fetched.text,
                openmetrics=is_openmetrics(fetched.content_type),
                max_series=config.max_series,
            )
            snapshot = Snapshot(started, relabel(parsed, config.rules()))
            window = self.window
            if self.previous is None:
                samples, cut = samples_of(snapshot, None, 0.0, config.options())
            else:
                latest = Interval(self.previous.at, snapshot.at, increases(self.previous, snapshot))
                window = in_window(self.window, latest, config.rate_window_s)
                inc, elapsed = combined(window)
                samples, cut = samples_of(snapshot, inc, elapsed, config.options())
        except ExpositionError as exc:
            return self._failed(started, str(exc), exc.kind)
        except Exception as exc:  # a bug in a mapping must not cost the target its other samples
            log.exception("exposition %s of %s: mapping failed", config.name, self.target)
            return self._failed(started, f"mapping failed: {type(exc).__name__}", "mapping")
        if self.failing is not None:
            log.info("exposition %s of %s: scraped again", config.name, self.target)
        self.previous, self.window, self.failing = snapshot, window, None
        duration = (self.clock() - started) * 1000.0
        return samples + health_samples(config.name, duration_ms=duration, series=len(snapshot.series), cut=cut)

    def _failed(self, started: float, reason: str, kind: str) -> list[MetricSample]:
        if reason != self.failing:
            log.warning("exposition %s of %s: %s", self.config.name, self.target, reason)
        self.failing = reason
        return health_samples(self.config.name, duration_ms=(self.clock() - started) * 1000.0, series=None, error=kind)
