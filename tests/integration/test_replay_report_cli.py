"""``incidentctl replay`` (time order, window, unknown topic) and ``incidentctl report`` files on a real broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidentctl.__main__ import main
from incidentctl.exits import Exit
from incidentctl.report_cmd import write_report
from shared.topic_admin import ensure_topics
from tests.factories import at
from tests.integration.test_api_responder import broker_settings, incident_story, publish_all

pytestmark = pytest.mark.integration


async def _story(kafka_bootstrap: str, unique: str) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    await publish_all(settings, incident_story("inc-7"))


def test_replay_prints_every_topic_merged_by_event_time_within_the_window(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    asyncio.run(_story(kafka_bootstrap, unique))
    monkeypatch.setenv("TOPIC_PREFIX", f"t{unique}.")
    assert main(["replay", "--bootstrap", kafka_bootstrap]) == Exit.OK
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    types = [e["type"].removeprefix("dev.incidentctl.") for e in events]
    # The fault (chaos topic, read last) comes first: it happened first.
    assert types == ["chaos.fault_injected", "anomaly.detected", "incident.opened", "notification.delivered",
                     "incident.escalated", "rca.completed"]  # fmt: skip
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)

    window = ["--from", at(1).isoformat(), "--to", at(4).isoformat()]
    assert main(["replay", "--bootstrap", kafka_bootstrap, *window]) == Exit.OK
    inside = [
        json.loads(line)["type"].removeprefix("dev.incidentctl.") for line in capsys.readouterr().out.splitlines()
    ]
    assert inside == ["anomaly.detected", "incident.opened", "notification.delivered"]

    assert main(["replay", "--bootstrap", kafka_bootstrap, "responder.incidents.v1", "rca.results.v1"]) == Exit.OK
    two = [json.loads(line)["type"] for line in capsys.readouterr().out.splitlines()]
    assert len(two) == 3

    assert main(["replay", "--bootstrap", kafka_bootstrap, "responder.incident.v1"]) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown topic 'responder.incident.v1'" in err


def test_report_languages_are_written_side_by_side(kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
    import asyncio

    asyncio.run(_story(kafka_bootstrap, unique))
    settings = broker_settings(kafka_bootstrap, unique)
    reports = tmp_path / ".stack" / "reports"
    en = write_report(settings, "inc-7", fmt="md", lang="en", out_dir=reports)
    ko = write_report(settings, "inc-7", fmt="md", lang="ko", out_dir=reports)
    assert (en.name, ko.name) == ("inc-7.en.md", "inc-7.ko.md")
    assert en.read_text(encoding="utf-8") != ko.read_text(encoding="utf-8")
    assert sorted(p.name for p in reports.iterdir()) == ["inc-7.en.md", "inc-7.ko.md"]


def test_report_goes_into_the_stacks_reports_folder(
    kafka_bootstrap: str, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import asyncio

    from incidentctl import __main__ as cli
    from incidentctl.stack import StackState

    asyncio.run(_story(kafka_bootstrap, unique))
    state = StackState(root=str(tmp_path / ".stack"), kafka=kafka_bootstrap, elasticsearch="", api_url="",
                       demo_url="", api_token="")  # fmt: skip
    monkeypatch.setattr(cli, "_stack_state", lambda args: state)  # a running stack, as far as `report` can tell
    monkeypatch.setenv("TOPIC_PREFIX", f"t{unique}.")
    monkeypatch.setattr(StackState, "settings", lambda self: broker_settings(kafka_bootstrap, unique))
    assert main(["report", "inc-7", "--lang", "ko"]) == Exit.OK
    assert capsys.readouterr().out.strip() == str(tmp_path / ".stack" / "reports" / "inc-7.ko.md")
    assert main(["report", "inc-missing"]) == Exit.NOT_FOUND
    assert "incidentctl incidents" in capsys.readouterr().err
