"""SIGKILL every stage and the broker during a 10,000-event stream; compare with an undisturbed run.

Two instances of each consuming service share each consumer group, so partitions move between
live instances when one dies. What must hold: no incident lost, nothing paged or run twice, every
killed process ready again within 30 s, the same final incident states.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from incidentctl import resilience as r

pytestmark = pytest.mark.chaos

PLAN = r.ChaosPlan(kills=r.DEFAULT_KILLS)
Runs = tuple[r.RunResult, r.RunResult, dict[str, Any]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root: Path = tmp_path_factory.mktemp("chaos")
    baseline = r.run(root / "baseline", r.ChaosPlan(), label="baseline", log=print)
    disturbed = r.run(root / "disturbed", PLAN, label="disturbed", log=print)
    figures = r.compare(baseline, disturbed, PLAN)
    print(figures)
    yield baseline, disturbed, figures


def test_the_stream_ran_and_every_fault_became_an_incident_in_the_undisturbed_run(runs: Runs) -> None:
    baseline, disturbed, _ = runs
    assert baseline.events_sent == disturbed.events_sent == PLAN.events >= 10_000
    faulted = {name for name, _ in PLAN.faults}
    assert faulted <= set(baseline.incidents), baseline.incidents
    assert {a.path.rsplit("/", 1)[-1] for a in baseline.actions} == faulted


def test_every_killed_process_is_ready_again_within_30_seconds(runs: Runs) -> None:
    _, disturbed, figures = runs
    assert sorted(k["process"] for k in disturbed.kills) == sorted(name for name, _ in PLAN.kills)
    assert figures["max_seconds_to_ready"] <= r.READY_LIMIT_S, disturbed.kills


def test_no_incident_is_lost_and_the_final_states_match(runs: Runs) -> None:
    baseline, disturbed, figures = runs
    assert figures["incidents_lost"] == []
    differing = figures["final_states_differing"]
    assert differing == [], {t: (baseline.incidents.get(t), disturbed.incidents.get(t)) for t in differing}


def test_no_page_is_sent_twice_and_no_action_runs_twice(runs: Runs) -> None:
    _, disturbed, figures = runs
    assert figures["duplicates"] == {"pages_same_id": 0, "pages_same_message": 0, "actions_repeated": 0}, [
        (p.at, p.key, p.body.get("kind"), p.body.get("team"), p.body.get("title")) for p in disturbed.pages
    ] + [(a.at, a.key, a.path) for a in disturbed.actions]
    assert figures["actions"] == figures["baseline_actions"] == len(PLAN.faults)
