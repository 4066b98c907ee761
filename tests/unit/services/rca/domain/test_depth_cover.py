"""A slow or lossy link shows on the callers: the deeper entity that slowed with them is the cause."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from incidentctl.rca_cmd import rank_case_dir
from services.rca.domain import Case, MetricFrame, RcaConfig, Topology, rank_causes
from services.rca.domain.model import FloatArray

T0 = 1_700_000_000.0
STEP = 15.0
HISTORY = 60
INCIDENT = 12
TS: FloatArray = T0 + STEP * np.arange(-HISTORY, INCIDENT, dtype=np.float64)
DURING = TS >= T0


def _series(rng: np.random.Generator, level: float, add: float = 0.0, noise: float = 0.03) -> FloatArray:
    return level * (1.0 + noise * rng.standard_normal(TS.size)) + np.where(DURING, add, 0.0)


def _columns() -> dict[str, FloatArray]:
    """A delay on `payment`'s link: both callers wait the whole delay, `payment` measures part of it.

    No request counts: no excess-work figure can tie the callers to `payment`.
    """
    rng = np.random.default_rng(3)
    return {
        # Callers: a higher usual latency, the full delay (one calls twice per request), timeouts.
        "checkout|latency": _series(rng, 400.0, 2300.0),
        "checkout|errors": np.round(_series(rng, 4.0, 30.0, 0.2)),
        "frontend|latency": _series(rng, 600.0, 1500.0),
        "frontend|cpu": _series(rng, 0.2),
        # The callee: its own latency rose by part of the delay only.
        "payment|latency": _series(rng, 300.0, 700.0),
        "payment|cpu": _series(rng, 0.1),
        # Unrelated, deeper still, a small wiggle of latency.
        "currency|latency": _series(rng, 5.0, 0.4),
    }


def _case(topology: Topology | None = None) -> Case:
    return Case(MetricFrame(TS, _columns()), T0, float(TS[-1]), topology=topology)


def test_the_deeper_entity_that_slowed_with_its_callers_leads() -> None:
    ranked = rank_causes(_case())
    assert ranked[0].entity == "payment"
    checkout = next(c for c in ranked if c.entity == "checkout")
    assert "likely waiting on payment" in checkout.evidence


def test_without_the_rule_a_caller_leads() -> None:
    # The check above can fail: turned off, the loudest caller wins.
    assert rank_causes(_case(), config=RcaConfig(rise_cover_share=0.0))[0].entity != "payment"


def test_a_given_call_graph_decides_which_entity_is_deeper() -> None:
    # With the graph saying `payment` calls `checkout`, `payment` cannot be waiting on it.
    calls = frozenset({("frontend", "payment"), ("payment", "checkout")})
    assert rank_causes(_case(Topology(calls=calls)))[0].entity != "payment"
    calls = frozenset({("frontend", "checkout"), ("checkout", "payment")})
    assert rank_causes(_case(Topology(calls=calls)))[0].entity == "payment"


def _write_case_dir(folder: Path, graph: str | None) -> Path:
    folder.mkdir()
    cols = _columns()
    lines = ["timestamp," + ",".join(cols)]
    lines += [f"{int(t)}," + ",".join(f"{cols[c][i]:.6g}" for c in cols) for i, t in enumerate(TS)]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "incident.json").write_text(json.dumps({"anomaly_start": T0, "window_end": float(TS[-1])}))
    if graph is not None:
        (folder / "graph.csv").write_text(graph, encoding="utf-8")
    return folder


def test_a_case_folder_s_graph_csv_reaches_the_ranking(tmp_path: Path) -> None:
    # Same metrics, two call graphs: the CLI's case reader hands graph.csv to the engine.
    down = rank_case_dir(_write_case_dir(tmp_path / "a", "caller,callee\nfrontend,checkout\ncheckout,payment\n"))
    up = rank_case_dir(_write_case_dir(tmp_path / "b", "caller,callee\nfrontend,payment\npayment,checkout\n"))
    assert down["ranking"][0]["entity"] == "payment"
    assert up["ranking"][0]["entity"] != "payment"
