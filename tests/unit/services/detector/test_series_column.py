"""A scrape's column: each watched metric's value in bank order, NaN where the scrape lacks it."""

from __future__ import annotations

import math

from services.detector.domain.series import SeriesBank, StatisticalConfig
from shared import metric_names as mn

CONFIG = StatisticalConfig()


def read(bank: SeriesBank, values: dict[str, float]) -> dict[str, float]:
    column = bank.column(values, CONFIG)
    assert column is not None
    assert len(column) == bank.bank.n_series
    return {metric: float(column[watch.index]) for metric, watch in bank.watches.items()}


def test_a_column_follows_each_scrape_when_the_same_metrics_repeat_and_then_change() -> None:
    bank = SeriesBank(CONFIG.detector)
    full = {mn.HOST_CPU: 1.0, mn.HOST_MEMORY: 2.0, mn.HTTP_UP: 1.0}  # up is not watched
    assert read(bank, full) == {mn.HOST_CPU: 1.0, mn.HOST_MEMORY: 2.0}
    reordered = {mn.HOST_MEMORY: 4.0, mn.HOST_CPU: 3.0, mn.HTTP_UP: 1.0}
    assert read(bank, reordered) == read(bank, dict(reordered)) == {mn.HOST_CPU: 3.0, mn.HOST_MEMORY: 4.0}
    lacking = read(bank, {mn.HOST_MEMORY: 6.0, mn.HTTP_UP: 1.0})
    assert math.isnan(lacking[mn.HOST_CPU]) and lacking[mn.HOST_MEMORY] == 6.0
    more = read(bank, {mn.HOST_CPU: 7.0, mn.HOST_MEMORY: 8.0, mn.HOST_DISK: 9.0})
    assert more == {mn.HOST_CPU: 7.0, mn.HOST_MEMORY: 8.0, mn.HOST_DISK: 9.0}
    assert math.isnan(read(bank, full)[mn.HOST_DISK])


def test_a_metric_watched_since_the_last_scrape_gets_its_column() -> None:
    bank = SeriesBank(CONFIG.detector)
    values = {mn.HOST_CPU: 1.0}
    read(bank, values)
    bank.add(mn.HOST_DISK)
    column = read(bank, dict(values))
    assert column[mn.HOST_CPU] == 1.0 and math.isnan(column[mn.HOST_DISK])
    assert bank.column({mn.HTTP_UP: 1.0}, CONFIG) is None
