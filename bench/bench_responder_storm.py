"""A storm of distinct anomalies into one incident: the responder's cost per anomaly and its incident events' size.

Usage: python bench/bench_responder_storm.py [--anomalies 12000] [--every 2000]

Runs the responder's pure core (decide, fold, encode: what the service does per anomaly, without a
broker) over ``--anomalies`` distinct anomalies of one service, twice in one run:

- baseline: every anomaly listed on the incident (the listing limit set above the storm), as the
  responder did before ``MAX_LISTED_ANOMALIES``;
- as built: the incident lists its first ``MAX_LISTED_ANOMALIES``, later ones join unlisted.

Prints, per ``--every`` anomalies, the microseconds per anomaly, the largest incident event and how
many of the events the contract (`shared.events.parse_event`) refuses to read back.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import ValidationError

from services.responder.domain import lifecycle
from services.responder.domain.state import Book, fold_incident_event
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from tests.factories import T0


def storm_anomaly(i: int) -> ev.AnomalyDetected:
    """The ``i``-th anomaly of the storm: a new signal of service ``api``, a millisecond after the last."""
    at = T0 + timedelta(milliseconds=i)
    data = m.Anomaly(
        anomaly_id=f"api-log.template-{i:06d}-episode-1", fingerprint=f"api/log.template-{i:06d}",
        kind=m.AnomalyKind.LOG_PATTERN, target="api", host="node-17.cluster.internal", signal=f"log.template-{i:06d}",
        impact=m.Impact.SLIGHT_DEGRADATION, score=0.8, since=at, last_seen=at,
        summary=f"new log template {i} bursting on api",
    )  # fmt: skip
    return ev.AnomalyDetected.create(data, source="/bench", id_parts=(data.anomaly_id,), time=at, subject="api")


def run(anomalies: list[ev.AnomalyDetected], every: int, limit: int) -> list[tuple[int, float, int, int]]:
    """Decide, fold and encode each anomaly with the listing limit ``limit``; a row per ``every`` anomalies."""
    saved, lifecycle.MAX_LISTED_ANOMALIES = lifecycle.MAX_LISTED_ANOMALIES, limit  # type: ignore[misc]
    try:
        book, policy = Book(), ResponderSettings().policy()
        rows, biggest, refused, started = [], 0, 0, time.perf_counter()
        for n, anomaly in enumerate(anomalies, 1):
            decision = lifecycle.decide_anomaly(book, anomaly, now=anomaly.time, policy=policy)
            for event in decision.events:
                raw = ev.encode_event(event)
                fold_incident_event(book, event)
                biggest = max(biggest, len(raw))
                try:
                    ev.parse_event(raw)  # what every consumer of the incidents topic does (timed: it is theirs)
                except ValidationError:
                    refused += 1
            if n % every == 0:
                rows.append((n, (time.perf_counter() - started) / every * 1e6, biggest, refused))
                started = time.perf_counter()
        return rows
    finally:
        lifecycle.MAX_LISTED_ANOMALIES = saved  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anomalies", type=int, default=12_000)
    parser.add_argument("--every", type=int, default=2_000)
    args = parser.parse_args()
    anomalies = [storm_anomaly(i) for i in range(args.anomalies)]
    limit = lifecycle.MAX_LISTED_ANOMALIES
    baseline = run(anomalies, args.every, limit=sys.maxsize)
    built = run(anomalies, args.every, limit=limit)
    columns = f"{'us/anomaly':>10} {'largest event':>14} {'refused':>9}"
    print(f"{args.anomalies:,} distinct anomalies of one service into one incident (decide + fold + encode + parse)")
    print(f"{'anomalies':>9} | {'baseline: all listed':^36} | {f'as built: first {limit:,} listed':^36}")
    print(f"{'':>9} | {columns} | {columns}")
    for base, now in zip(baseline, built, strict=True):
        print(f"{base[0]:>9,} | {_row(base)} | {_row(now)}")


def _row(row: tuple[int, float, int, int]) -> str:
    _, us, size, refused = row
    return f"{us:>10,.0f} {size:>12,} B {refused:>9,}"


if __name__ == "__main__":
    main()
