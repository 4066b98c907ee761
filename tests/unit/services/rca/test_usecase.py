"""The RCA use case with its history read from a list of events (the topics' contents) and a fixed clock."""

from __future__ import annotations

from typing import Any

from services.rca.analyze import Analysis, rca_event
from services.rca.report.collect import IncidentHistory, select
from services.rca.store import WindowStore
from services.rca.usecase import RankingPolicy, RcaUseCase
from shared import events as ev
from shared.models import CauseCandidate
from tests.unit.services.rca.scenario import anomaly_event, at, incident, lifecycle, metric_events

NOW = at(900)


class Topics:
    """What the topics hold; reads it back as `collect_history` does, counting the reads."""

    def __init__(self, events: list[ev.Envelope[Any]]) -> None:
        self.events = events
        self.reads = 0

    async def __call__(self, incident_id: str, *, store: WindowStore | None = None) -> IncidentHistory:
        self.reads += 1
        if store is not None:
            for e in self.events:
                store.add(e)
        return select(incident_id, [e for e in self.events if not isinstance(e, ev.MetricsObserved)])


def story() -> tuple[list[ev.MetricsObserved], ev.AnomalyDetected, list[ev.Envelope[Any]]]:
    anomaly = anomaly_event("process.cpu_percent")
    return metric_events("cpu-hog"), anomaly, lifecycle((anomaly.data.anomaly_id,))


def use_case(topics: Topics) -> RcaUseCase:
    return RcaUseCase(topics, RankingPolicy(lookback_s=300.0, top=5), clock=lambda: NOW)


async def test_service_path_ranks_from_the_live_store_and_reports_with_the_result_event() -> None:
    metrics, anomaly, lifecycle_events = story()
    topics = Topics([anomaly, *lifecycle_events])
    store = WindowStore()
    for e in [*metrics, anomaly]:
        store.add(e)
    rca = use_case(topics)
    resolved = lifecycle_events[-1]
    analysis = rca.rank(store, incident((anomaly.data.anomaly_id,)), end=resolved.time.timestamp())
    assert (analysis.ranking[0].entity, analysis.ranking[0].signal) == ("demo", "process.cpu_percent")
    result = rca_event(incident(()), analysis, trigger=resolved, source="/t", report_path=None)
    report = await rca.report(store, "inc-1", analysis, extra=(resolved, result), until=resolved.time.timestamp())
    assert topics.reads == 1
    assert report.ranking == analysis.ranking and report.generated_at == NOW
    assert "rca.completed" in [e.kind for e in report.timeline]
    assert report.charts  # drawn from the live store: the history read carries no metrics


async def test_rebuild_ranks_up_to_the_resolution_when_no_result_is_on_the_topics() -> None:
    metrics, anomaly, lifecycle_events = story()
    rca = use_case(Topics([*metrics, anomaly, *lifecycle_events]))
    report = await rca.rebuild("inc-1")
    assert report is not None and report.generated_at == NOW
    store = WindowStore()
    for e in [*metrics, anomaly]:
        store.add(e)
    expected = rca.rank(store, incident((anomaly.data.anomaly_id,)), end=lifecycle_events[-1].time.timestamp())
    assert report.ranking == expected.ranking and report.charts


async def test_rebuild_reuses_the_latest_result_on_the_topics() -> None:
    metrics, anomaly, lifecycle_events = story()
    resolved = lifecycle_events[-1]
    store = WindowStore()
    for e in [*metrics, anomaly]:
        store.add(e)
    analysis = use_case(Topics([])).rank(store, incident((anomaly.data.anomaly_id,)), end=resolved.time.timestamp())
    chosen = (CauseCandidate(entity="host-1", signal="host.cpu_percent", score=1.0, evidence="not the engine's pick"),)
    result = rca_event(incident(()), Analysis(analysis.window, chosen), trigger=resolved, source="/t", report_path=None)
    report = await use_case(Topics([*metrics, anomaly, *lifecycle_events, result])).rebuild("inc-1")
    assert report is not None and report.ranking == chosen


async def test_rebuild_of_an_incident_the_topics_do_not_know_is_none() -> None:
    metrics, anomaly, _ = story()
    assert await use_case(Topics([*metrics, anomaly])).rebuild("inc-1") is None
