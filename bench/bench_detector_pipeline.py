"""Cost of the detector's per-scrape pipeline (rules + statistics + degradation + episodes) and its checkpoint.

Synthetic scrapes of 12 metrics (no data set needed). Prints microseconds per scrape and the
checkpoint size and (de)serialisation time. Usage: python bench/bench_detector_pipeline.py [scrapes]
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from services.detector.domain.checkpoint import dumps_target, loads_target
from services.detector.domain.target import TargetDetector
from services.detector.settings import DetectorSettings
from shared import metric_names as mn
from shared.models import MetricSample, MetricsObserved

METRICS = (
    mn.HOST_CPU, mn.HOST_MEMORY, mn.HOST_DISK, mn.PROCESS_CPU, mn.PROCESS_RSS, mn.PROCESS_UP, mn.HTTP_UP,
    mn.HTTP_LATENCY_P50, mn.HTTP_LATENCY_P95, mn.HTTP_LATENCY_P99, mn.HTTP_ERROR_RATE, mn.HTTP_THROUGHPUT,
)  # fmt: skip


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    config = DetectorSettings().detection()
    rng = random.Random(1)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    scrapes = [
        MetricsObserved(
            target="bench", host="h", observed_at=t0 + timedelta(seconds=2 * i), interval_s=2.0,
            samples=tuple(MetricSample(name=m, value=abs(rng.gauss(20, 3))) for m in METRICS),
        )
        for i in range(n)
    ]  # fmt: skip
    detector = TargetDetector("bench", config)
    started = time.perf_counter()
    for scrape in scrapes:
        detector.observe(scrape)
    per_scrape = (time.perf_counter() - started) / n
    blob = dumps_target(detector)
    started = time.perf_counter()
    for _ in range(200):
        dumps_target(detector)
    dumps_ms = (time.perf_counter() - started) / 200 * 1e3
    started = time.perf_counter()
    for _ in range(200):
        loads_target(blob, config)
    loads_ms = (time.perf_counter() - started) / 200 * 1e3
    print(f"scrapes={n} metrics/scrape={len(METRICS)} observe={per_scrape * 1e6:.0f} us/scrape")
    print(f"checkpoint={len(blob)} bytes dumps={dumps_ms:.2f} ms loads={loads_ms:.2f} ms")


if __name__ == "__main__":
    main()
