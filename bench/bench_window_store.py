"""The rca's window store folding scrapes whose instants differ, pruned on a cadence against per scrape.

Usage: python bench/bench_window_store.py [--targets 2000] [--rounds 3] [--metrics 11]

A collector scrapes its targets at instants of their own, so nearly every scrape is the newest
sample the store has seen. Folds ``--rounds`` scrapes of each of ``--targets`` targets (spread over a
5-minute interval, ``--metrics`` samples each, half of the targets on 50 hosts) into a store, twice
in one run: as built (a prune once the newest sample moved on by 1 % of the retention) and the
baseline (a prune at every newer scrape: the store before stop 33). Prints microseconds per scrape,
how many prunes ran and how many series the store holds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.rca import store as window_store
from shared import events as ev
from shared import models as m

T0 = datetime(2026, 12, 1, tzinfo=UTC)
INTERVAL_S = 300.0


def scrapes(targets: int, rounds: int, metrics: int) -> list[ev.MetricsObserved]:
    names = [f"app.metric_{k}" for k in range(metrics)]
    out = []
    for r in range(rounds):
        for k in range(targets):
            at = T0 + timedelta(seconds=INTERVAL_S * (r + k / targets))
            samples = tuple(m.MetricSample(name=n, value=float(k)) for n in names)
            data = m.MetricsObserved(target=f"svc-{k:05d}", host=f"host-{k % 50}", observed_at=at,
                                     interval_s=INTERVAL_S, samples=samples)  # fmt: skip
            out.append(ev.MetricsObserved.create(data, source="/bench", id_parts=(k, r), time=at))
    return out


def fold(events: list[ev.MetricsObserved], share: float) -> tuple[float, int, int]:
    """Microseconds per scrape, prunes and series of a store folding ``events`` with prune share ``share``."""
    window_store.PRUNE_EVERY_SHARE = share
    store = window_store.WindowStore()
    prunes = 0
    started = time.perf_counter()
    for event in events:
        before = store.pruned_at
        store.add(event)
        prunes += store.pruned_at != before
    elapsed = time.perf_counter() - started
    return elapsed / len(events) * 1e6, prunes, len(store.series)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--metrics", type=int, default=11)
    args = parser.parse_args()
    events = scrapes(args.targets, args.rounds, args.metrics)
    built = window_store.PRUNE_EVERY_SHARE
    print(f"{len(events)} scrapes of {args.targets} targets, {args.metrics} samples each, spread over {INTERVAL_S:g} s")
    print(f"{'store':<44} {'us/scrape':>10} {'prunes':>8} {'series':>8}")
    runs = (("baseline: a prune at every newer scrape", 0.0), (f"as built: a prune every {built:.0%}", built))
    for label, share in runs:
        us, prunes, series = fold(events, share)
        print(f"{label:<44} {us:>10.1f} {prunes:>8} {series:>8}")


if __name__ == "__main__":
    main()
