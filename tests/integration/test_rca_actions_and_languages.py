"""The rca service on a real broker writes en and ko reports side by side and publishes its plan's follow-up
actions; ``incidentctl actions`` lists them and closes one (issue 15, item 6)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from incidentctl.__main__ import main
from incidentctl.procs import free_port
from services.rca.app import build as build_rca
from services.rca.settings import RcaSettings
from shared import events as ev
from shared import topics
from shared.replay import replay
from shared.topic_admin import ensure_topics
from tests.integration.test_recovery_service import running, send, until
from tests.unit.services.rca.scenario import anomaly_event, lifecycle, metric_events

pytestmark = pytest.mark.integration
HANGUL = re.compile("[\uac00-\ud7a3]")


async def _actions(settings: RcaSettings) -> list[ev.ActionRecorded]:
    found = [e async for _, e in replay(settings, [settings.topic_prefix + topics.ACTIONS.name])]
    return [e for e in found if isinstance(e, ev.ActionRecorded)]


async def _rca_count(settings: RcaSettings) -> int:
    return len([e async for _, e in replay(settings, [settings.topic_prefix + topics.RCA.name])])


def test_rca_writes_both_languages_and_publishes_actions_the_cli_lists(
    kafka_bootstrap: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    prefix = f"t{unique}."
    settings = RcaSettings(
        kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=prefix, group_id=f"rca-{unique}",
        http_port=free_port(), lookback_s=300.0, reports_dir=str(tmp_path / "reports"), index_reports=False,
    )  # fmt: skip
    reports = tmp_path / "reports"

    async def scenario() -> list[ev.ActionRecorded]:
        await ensure_topics(settings)
        anomaly = anomaly_event("process.cpu_percent")
        await send(settings, *metric_events("cpu-hog"), anomaly, *lifecycle((anomaly.data.anomaly_id,)))
        async with running(settings, build_rca):
            await until(lambda: _rca_count(settings), timeout=60, what="an RCA result")
            await until(lambda: (reports / "inc-1.ko.html").is_file(), timeout=60, what="the ko report")
            first: list[ev.ActionRecorded] = await until(_actions_of(settings), timeout=60, what="follow-up actions")
            await until(lambda: _rca_count_at_least(settings, 2), timeout=60, what="the second analysis")
        # a restarted service re-reads the same inputs: no new action event (idempotent by id)
        before = {e.id for e in await _actions(settings)}
        again = settings.model_copy(update={"group_id": f"rca2-{unique}", "http_port": free_port()})
        async with running(again, build_rca):
            await until(lambda: _rca_count_at_least(settings, 2), timeout=60, what="the restarted service")
            await asyncio.sleep(1.0)
        after = await _actions(settings)
        assert {e.id for e in after} == before and len(after) == len({e.id for e in after})
        return first

    first = asyncio.run(scenario())
    names = sorted(p.name for p in reports.iterdir())
    assert {"inc-1.en.md", "inc-1.ko.md", "inc-1.en.html", "inc-1.ko.html", "inc-1.md", "inc-1.html"} <= set(names)
    assert HANGUL.search((reports / "inc-1.ko.md").read_text(encoding="utf-8"))
    assert not HANGUL.search((reports / "inc-1.en.md").read_text(encoding="utf-8"))
    assert {e.data.section for e in first} == {"monitoring", "system", "process"}
    assert all(e.correlationid == "inc-1" and e.data.owner in ("L1", "L2", "L3") for e in first)

    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    cli = ["actions", "--bootstrap", kafka_bootstrap]
    assert main([*cli, "--incident", "inc-1", "--state", "all", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {a["topic"] for a in listed} >= {"thresholds", "resources", "automation", "training"}
    open_one = next(a for a in listed if a["state"] == "open")
    assert main([*cli, "--lang", "ko"]) == 0
    table = capsys.readouterr().out
    assert open_one["action_id"] in table and "담당" in table and "OWNER" not in table  # --lang ko: headings too
    assert main([*cli, "--done", open_one["action_id"], "--by", "alice"]) == 0
    assert "done (alice)" in capsys.readouterr().out
    assert main([*cli, "--state", "done", "--json"]) == 0
    done = {a["action_id"]: a for a in json.loads(capsys.readouterr().out)}
    assert done[open_one["action_id"]]["actor"] == "alice"
    assert main([*cli, "--done", "act-nope"]) == 2
    assert "no follow-up action 'act-nope'" in capsys.readouterr().err


def _actions_of(settings: RcaSettings) -> Callable[[], Awaitable[list[ev.ActionRecorded]]]:
    async def found() -> list[ev.ActionRecorded]:
        return await _actions(settings)

    return found


async def _rca_count_at_least(settings: RcaSettings, n: int) -> bool:
    return await _rca_count(settings) >= n
