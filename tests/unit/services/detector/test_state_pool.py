"""One state array for many banks (`StatePool`): growth, columns taken back and reused, restore, and
steps over shared columns that give exactly what each target alone gives."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.detector.domain.anomaly import DetectorBank, DetectorConfig, layout
from services.detector.domain.anomaly.bank import MAX_RUNS, _runs, step_together
from services.detector.domain.anomaly.pool import StatePool, run_start
from services.detector.domain.checkpoint import dumps_target, loads_target
from services.detector.domain.target import DetectionConfig, TargetDetector, observe_together
from shared import metric_names as mn
from shared.models import MetricSample, MetricsObserved

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = DetectionConfig()
LATE = (mn.HOST_NET_SENT, mn.DB_ROWS)
"""Metrics a target starts sending later: its bank grows after other targets' columns were handed out."""


def fresh_column(config: DetectorConfig) -> np.ndarray:
    return layout.new_state(config, 1)[:, 0]


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def test_the_array_grows_and_every_column_handed_out_is_fresh_and_distinct() -> None:
    pool = StatePool(DetectorConfig())
    handed: list[int] = []
    for count in (3, 1, 7, 20, 2):
        cols = pool.allocate(count)
        assert cols.size == count and all(same(pool.state[c], fresh_column(pool.config)) for c in cols)
        pool.state[cols] = 42.0  # learned something
        handed += cols.tolist()
    assert sorted(handed) == list(range(33)) and pool.live == 33 and 33 <= pool.capacity <= 66
    pool.give_back(np.array(handed[5:15]))
    again = pool.allocate(12)  # ten given back, two never used
    assert all(same(pool.state[c], fresh_column(pool.config)) for c in again)
    assert (pool.state[handed[:5]] == 42.0).all() and pool.live == 35


def test_columns_given_back_are_handed_out_again_before_the_array_grows() -> None:
    pool = StatePool(DetectorConfig())
    first, second = pool.allocate(5), pool.allocate(5)
    capacity = pool.capacity
    pool.give_back(first)
    assert pool.live == 5
    again = pool.allocate(4)
    assert sorted(again.tolist()) == first[:4].tolist() and pool.capacity == capacity
    assert run_start(again) == 0 and run_start(second) == 5
    mixed = pool.allocate(3)  # the last free one, then new ones
    assert mixed.tolist()[0] == 4 and run_start(mixed) == -1 and pool.live == 12


def test_a_gone_bank_gives_its_columns_back_so_the_array_stays_bounded() -> None:
    config = DetectorConfig()
    pool = StatePool(config)
    rng = random.Random(5)
    banks = [DetectorBank(rng.randint(1, 12), config, pool) for _ in range(50)]
    for _ in range(400):  # targets come and go; some grow
        banks.pop(rng.randrange(len(banks)))
        banks.append(DetectorBank(rng.randint(1, 12), config, pool))
        if rng.random() < 0.1:
            rng.choice(banks).add_series(1)
    gc.collect()
    live = sum(bank.n_series for bank in banks)
    assert pool.live == live and pool.capacity <= 2 * live + 24
    owned = np.concatenate([bank._cols for bank in banks])
    assert np.unique(owned).size == owned.size  # no column is shared by two banks
    del banks
    gc.collect()
    assert pool.live == 0


def test_a_bank_and_its_pool_must_share_one_config() -> None:
    with pytest.raises(ValueError, match="config"):
        DetectorBank(2, DetectorConfig(warmup_samples=7), StatePool(DetectorConfig()))


def bank_runs(rng: random.Random, pool: StatePool, widths: list[int]) -> tuple[list[DetectorBank], list[DetectorBank]]:
    """The same banks twice: in a shared pool and each with its own, fed the same history."""
    shared = [DetectorBank(w, pool.config, pool) for w in widths]
    alone = [DetectorBank(w, pool.config) for w in widths]
    for t in range(30):
        for a, b in zip(shared, alone, strict=True):
            x = np.array([rng.gauss(10, 1) for _ in range(a.n_series)])
            a.update(np.full(a.n_series, 2.0 * t), x)
            b.update(np.full(b.n_series, 2.0 * t), x)
    return shared, alone


@pytest.mark.parametrize("order", ["one run", "a few runs", "scattered"])
def test_a_step_over_shared_columns_equals_a_step_over_banks_of_their_own(order: str) -> None:
    rng = random.Random(11)
    pool = StatePool(DetectorConfig(warmup_samples=5))
    shared, alone = bank_runs(rng, pool, [rng.randint(1, 9) for _ in range(40)])
    shared[3].add_series(2)  # its columns are no longer one run: only the gather path steps it
    alone[3].add_series(2)
    picked = list(range(4, 40))
    if order == "a few runs":
        picked = [*range(20, 30), *range(5, 10), *range(31, 40)]
    elif order == "scattered":  # bank 3 among them
        picked = rng.sample(range(40), 40)
    for t in range(30, 60):
        values = [
            np.array([rng.gauss(10, 1) * (5 if t == 50 else 1) for _ in range(alone[i].n_series)]) for i in picked
        ]
        times = [2.0 * t] * len(picked)
        got, offsets = step_together([shared[i] for i in picked], times, values)
        want, _ = step_together([alone[i] for i in picked], times, values)
        assert (
            got is not None and want is not None and offsets == np.cumsum([0] + [len(v) for v in values]).tolist()[:-1]
        )
        assert all(same(getattr(got, name), getattr(want, name)) for name in got.__dataclass_fields__)
    assert all(a.dumps_all() == b.dumps_all() for a, b in zip(shared, alone, strict=True))
    assert MAX_RUNS >= 3  # "a few runs" is stepped in place


def test_banks_on_scattered_columns_move_to_one_run_and_are_stepped_in_place_in_any_order() -> None:
    rng = random.Random(4)
    pool = StatePool(DetectorConfig(warmup_samples=5))
    shared, alone = bank_runs(rng, pool, [rng.randint(1, 9) for _ in range(30)])
    chosen = rng.sample(range(30), 12)
    assert _runs(sorted((shared[i] for i in chosen), key=lambda b: int(b.columns[0]))) is None
    used = []
    for t in range(30, 36):
        order = rng.sample(chosen, len(chosen))  # the same targets, in another order each time
        values = [np.array([rng.gauss(10, 1) for _ in range(alone[i].n_series)]) for i in order]
        got, _ = step_together([shared[i] for i in order], [2.0 * t] * len(order), values)
        want, _ = step_together([alone[i] for i in order], [2.0 * t] * len(order), values)
        assert got is not None and want is not None
        assert all(same(getattr(got, name), getattr(want, name)) for name in got.__dataclass_fields__)
        runs = _runs(sorted((shared[i] for i in chosen), key=lambda b: int(b.columns[0])))
        assert runs is not None and len(runs) == 1  # moved on the first step
        used.append(pool._next)
    assert len(set(used)) == 1  # in place after the first: no further move
    assert all(a.dumps_all() == b.dumps_all() for a, b in zip(shared, alone, strict=True))
    owned = np.concatenate([bank.columns for bank in shared])
    assert np.unique(owned).size == owned.size and pool.live == owned.size


def test_steps_in_ever_new_orders_pack_the_array_instead_of_growing_it() -> None:
    rng = random.Random(6)
    pool = StatePool(DetectorConfig(warmup_samples=5))
    shared, alone = bank_runs(rng, pool, [rng.randint(1, 9) for _ in range(40)])
    live = peak = sum(bank.n_series for bank in shared)
    for t in range(30, 90):
        order = rng.sample(range(40), rng.randint(5, 40))
        values = [np.array([rng.gauss(10, 1) for _ in range(alone[i].n_series)]) for i in order]
        step_together([shared[i] for i in order], [2.0 * t] * len(order), values)
        step_together([alone[i] for i in order], [2.0 * t] * len(order), values)
        if t % 10 == 0:  # a target leaves, another comes
            gone = rng.randrange(len(shared))
            del shared[gone], alone[gone]
            shared.append(DetectorBank(5, pool.config, pool))
            alone.append(DetectorBank(5, pool.config))
            live = sum(bank.n_series for bank in shared)
            peak = max(peak, live)
        assert pool.capacity <= 2 * peak and pool.live == live
    assert all(a.dumps_all() == b.dumps_all() for a, b in zip(shared, alone, strict=True))


def scrape(target: str, rng: random.Random, i: int, late: bool) -> MetricsObserved:
    values = {
        mn.HOST_CPU: 97.0 if 60 <= i < 70 else rng.gauss(30, 3),
        mn.HOST_MEMORY: rng.gauss(50, 1),
        mn.HTTP_LATENCY_P95: 900.0 if 80 <= i < 90 else abs(rng.gauss(80, 8)),
        mn.HTTP_THROUGHPUT: abs(rng.gauss(40, 4)),
        mn.HTTP_UP: 1.0,
    } | (dict.fromkeys(LATE, abs(rng.gauss(1e6, 1e4))) if late else {})
    samples = tuple(MetricSample(name=k, value=v) for k, v in values.items() if rng.random() > 0.05)
    return MetricsObserved(
        target=target, host="h", observed_at=T0 + timedelta(seconds=2 * i), interval_s=2.0, samples=samples
    )


@pytest.mark.parametrize("shuffled", [False, True])
def test_targets_of_one_pool_revoked_and_restored_give_what_targets_alone_give(shuffled: bool) -> None:
    rng = random.Random(8)
    pool = StatePool(CONFIG.statistical.detector)
    names = [f"svc-{n:02d}" for n in range(16)]
    alone: dict[str, TargetDetector] = {}
    pooled: dict[str, TargetDetector] = {}
    expected, got = [], []
    for i in range(120):
        wave = [name for n, name in enumerate(names) if (i + n) % 6]
        if shuffled:
            rng.shuffle(wave)
        items = [(name, scrape(name, rng, i, late=i > 40 + 3 * n)) for n, name in enumerate(wave)]
        for name, item in items:
            expected += alone.setdefault(name, TargetDetector(name, CONFIG)).observe(item)
        taking = [(pooled.setdefault(name, TargetDetector(name, CONFIG, pool)), item) for name, item in items]
        for emissions in observe_together(taking):
            got += emissions
        if i % 30 == 29:  # a partition revoked and assigned back: checkpoint, forget, restore into the pool
            moved = rng.sample(names, 5)
            saved = {name: dumps_target(pooled.pop(name)) for name in moved if name in pooled}
            taking = []  # the last wave held the forgotten detectors too
            gc.collect()
            assert pool.live == sum(d.series.bank.n_series for d in pooled.values())
            pooled |= {name: loads_target(blob, CONFIG, pool) for name, blob in saved.items()}
    assert expected and got == expected
    assert {n: dumps_target(d) for n, d in pooled.items()} == {n: dumps_target(d) for n, d in alone.items()}
    assert pool.capacity <= 2 * sum(d.series.bank.n_series for d in pooled.values())


def test_a_checkpoint_restored_into_a_pool_round_trips_exactly() -> None:
    rng = random.Random(2)
    detector = TargetDetector("svc", CONFIG)
    for i in range(100):
        detector.observe(scrape("svc", rng, i, late=i > 50))
    blob = dumps_target(detector)
    pool = StatePool(CONFIG.statistical.detector)
    neighbour = TargetDetector("other", CONFIG, pool)
    neighbour.observe(scrape("other", rng, 0, late=True))
    restored = loads_target(blob, CONFIG, pool)
    assert dumps_target(restored) == blob and restored.series.bank._pool is pool
    assert pool.live == neighbour.series.bank.n_series + restored.series.bank.n_series
