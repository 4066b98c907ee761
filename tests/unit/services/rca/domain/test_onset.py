"""A deviation is dated by its first crossing that holds, not by a lone noise spike before it."""

from __future__ import annotations

import numpy as np

from services.rca.domain import RcaConfig
from services.rca.domain.metric_score import score_column
from services.rca.domain.signals import MetricKind

T0 = 1_700_000_000.0
TS = T0 + np.arange(-60, 30, dtype=np.float64)


def _score(values: np.ndarray) -> tuple[float | None, float]:
    result = score_column(
        TS,
        values,
        MetricKind.LATENCY,
        history_end=T0 - 10.0,
        scan_start=T0 - 10.0,
        window_end=float(TS[-1]),
        config=RcaConfig(),
    )
    assert result is not None
    return result.onset, result.persistence


def test_a_lone_spike_before_the_fault_does_not_date_it() -> None:
    rng = np.random.default_rng(5)
    values = 1.0 + 0.01 * rng.standard_normal(TS.size)
    values[TS == T0 - 5.0] = 2.0  # one noisy sample in the search margin
    values[TS >= T0] += 1.0  # the fault, from T0 on
    onset, persistence = _score(values)
    assert onset == T0
    assert persistence == 1.0


def test_a_run_of_spikes_is_dated_by_its_first_pair_that_holds() -> None:
    rng = np.random.default_rng(6)
    values = 1.0 + 0.01 * rng.standard_normal(TS.size)
    values[(TS == T0) | (TS == T0 + 10.0) | (TS == T0 + 11.0) | (TS == T0 + 20.0)] = 3.0
    onset, _ = _score(values)
    assert onset == T0 + 10.0
