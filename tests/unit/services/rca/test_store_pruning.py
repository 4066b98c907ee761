"""The window store prunes on a cadence of its newest sample and forgets targets that went quiet."""

from __future__ import annotations

import itertools

from services.rca.store import PRUNE_EVERY_SHARE, WindowStore
from tests.unit.services.rca.scenario import scrape


def test_prunes_once_the_newest_sample_moved_on_by_its_share_of_the_retention() -> None:
    store = WindowStore(retention_s=1000.0)
    prunes = []
    for n in range(200):  # targets scraped 0.1 s apart: each scrape is the newest sample so far
        store.add(scrape(f"svc-{n % 20}", "h", 0.1 * n, {"process.cpu_percent": 1.0}))
        if not prunes or store.pruned_at != prunes[-1]:
            prunes.append(store.pruned_at)
    step = 1000.0 * PRUNE_EVERY_SHARE
    assert len(prunes) <= 19.9 / step + 2  # not one per scrape (200 of them)
    assert all(b - a >= step for a, b in itertools.pairwise(prunes))


def test_a_target_no_longer_scraped_is_forgotten_after_the_retention() -> None:
    store = WindowStore(retention_s=100.0)
    store.add(scrape("gone", "h", 0.0, {"process.cpu_percent": 1.0, "http.up": 1.0}))
    for t in range(0, 110, 2):
        store.add(scrape("stays", "h", float(t), {"process.cpu_percent": 1.0}))
    assert {key[0] for key in store.series} == {"stays"}
    assert store.window(0.0, store.latest).keys() == {"stays|process.cpu_percent"}


def test_every_sample_within_the_retention_is_kept() -> None:
    store = WindowStore(retention_s=100.0)
    for t in range(0, 500):
        store.add(scrape("demo", "h", float(t), {"process.cpu_percent": float(t)}))
    points = store.series[("demo", "process.cpu_percent")]
    assert points[0][0] <= store.latest - 100.0
    assert points[0][0] >= store.latest - 100.0 * (1 + PRUNE_EVERY_SHARE)
