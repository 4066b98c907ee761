"""The rca service on the real broker: a resolved incident yields a ranked RCA event, report files and an ES doc."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, NotFoundError

from incidentctl.procs import free_port
from incidentctl.report_cmd import write_report
from services.rca.app import build as build_rca
from services.rca.settings import RcaSettings
from shared import events as ev
from shared import models as m
from shared import topics
from shared.replay import replay
from shared.topic_admin import ensure_topics
from tests.integration.test_recovery_service import running, send, until
from tests.unit.services.rca.scenario import anomaly_event, lifecycle, metric_events

pytestmark = pytest.mark.integration


async def rca_events(settings: RcaSettings) -> list[ev.RootCauseIdentified]:
    return [e async for _, e in replay(settings, [settings.topic_prefix + topics.RCA.name])]  # type: ignore[misc]


async def test_resolved_incident_gets_rca_report_and_index(
    kafka_bootstrap: str, elasticsearch_url: str, unique: str, tmp_path: Path
) -> None:
    settings = RcaSettings(
        kafka_bootstrap_servers=kafka_bootstrap, elasticsearch_url=elasticsearch_url, topic_prefix=f"t{unique}.",
        group_id=f"rca-{unique}", http_port=free_port(), lookback_s=300.0, reports_dir=str(tmp_path / "reports"),
        reports_index=f"incident-reports-{unique}",
    )  # fmt: skip
    await ensure_topics(settings)
    anomaly = anomaly_event("process.cpu_percent")
    story = lifecycle((anomaly.data.anomaly_id,))
    await send(settings, *metric_events("cpu-hog"), anomaly, *story)  # type: ignore[arg-type]
    resolved = story[-1]
    async with running(settings, build_rca):
        await until(lambda: _count(settings, 2), timeout=60, what="RootCauseIdentified (verified, resolved)")
        found = await rca_events(settings)
        assert {e.causationid for e in found} == {resolved.id, story[-3].id}  # IncidentResolved, RecoveryVerified
        rca = next(e for e in found if e.causationid == resolved.id)
        assert rca.correlationid == "inc-1"
        top = rca.data.ranking[0]
        assert (top.entity, top.signal) == ("demo", "process.cpu_percent")
        assert 1 <= len(rca.data.ranking) <= 5
        md = Path(rca.data.report_path or "")
        assert md.is_file() and md.suffix == ".md" and "process.cpu_percent" in md.read_text()
        html = md.with_suffix(".html").read_text()
        assert "<svg" in html and "recovery.verified" in html
        # on demand for the same incident: a second, distinct RCA event
        ask = m.OperatorCommand(command_id="c1", incident_id="inc-1", actor="alice")
        await send(settings, ev.RcaRequested.create(ask, source="/cli", id_parts=("c1",), subject="inc-1"))
        await until(lambda: _count(settings, 3), timeout=60, what="the on-demand RCA")
    async with AsyncElasticsearch(elasticsearch_url) as es:

        async def indexed() -> dict[str, Any] | None:
            try:
                return (await es.get(index=settings.reports_index, id="inc-1"))["_source"]  # type: ignore[no-any-return]
            except NotFoundError:
                return None

        doc = await until(indexed, what="the report in Elasticsearch")
    assert doc["root_cause_entity"] == "demo" and doc["severity"] == "major"
    assert doc["response_target_met"] is True and "demo" in doc["report_markdown"]
    # a restarted service re-reads the same IncidentResolved: same RCA id, nothing new on the topic
    again = settings.model_copy(update={"group_id": f"rca2-{unique}", "http_port": free_port()})
    async with running(again, build_rca):
        probe = m.OperatorCommand(command_id="c2", incident_id="inc-1", actor="bob")
        await send(settings, ev.RcaRequested.create(probe, source="/cli", id_parts=("c2",), subject="inc-1"))
        await until(lambda: _count(settings, 4), timeout=60, what="the probe RCA")
    assert len({e.id for e in await rca_events(settings)}) == 4
    # the CLI rebuilds the report from the topics
    path = await asyncio.to_thread(write_report, settings, "inc-1", fmt="md", lang="ko", out_dir=tmp_path / "cli")
    assert path.name == "inc-1.ko.md" and "근본 원인 순위" in path.read_text()


async def _count(settings: RcaSettings, n: int) -> bool:
    return len(await rca_events(settings)) >= n
