"""Fixed inputs for every command's text output, rendered in English and Korean by test_cli_output_language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incidentctl.dlq_cmd import DeadLetter
from incidentctl.stack import StackState
from incidentctl.whatif_diff import Outcome
from shared import models as m

NOW = datetime(2026, 5, 1, 13, 10, tzinfo=UTC).timestamp()


def letters() -> dict[str, list[DeadLetter]]:
    headers = {"dlq_reason": "bad json", "dlq_topic": "metrics.v1", "dlq_offset": "7"}
    return {
        "metrics.v1": [DeadLetter("metrics.v1.dlq", 0, 3, 1_777_640_000_000, b"k", b"x" * 2100, headers)],
        "logs.v1": [],
    }


def incidents() -> list[dict[str, Any]]:
    base = {"incident_id": "inc-1", "severity": "major", "status": "triggered", "opened_at": "2026-05-01T13:03:04Z",
            "target": "demo", "title": "demo is unhealthy", "team": "L1"}  # fmt: skip
    return [base, base | {"incident_id": "inc-22", "severity": "critical", "response": "missed", "team": None,
                          "acknowledged_by": "ann"}]  # fmt: skip


def timeline() -> dict[str, Any]:
    summary = incidents()[0] | {"acknowledged_at": "2026-05-01T13:04:00Z", "acknowledged_by": "ann",
                                "resolved_at": "2026-05-01T13:09:00Z", "resolved_by": "bob"}  # fmt: skip
    entry = {"time": "2026-05-01T13:03:04.123Z", "type": "incident.opened", "summary": "opened"}
    rca = {"ranking": [{"score": 0.92, "entity": "demo", "signal": "cpu_percent", "evidence": "cpu 99%"}]}
    return {"summary": summary, "timeline": [entry], "rca": rca}


ONCALL: list[dict[str, Any]] = [
    {"team": "L2", "schedule": "l2", "now": {"person": "ann", "source": "weekly"},
     "next": {"person": None, "since": "2026-03-23T08:00:00Z"}},
    {"team": "L1", "schedule": "l1", "now": {"person": None, "source": "gap"}, "next": None},
]  # fmt: skip


def status_rows() -> list[dict[str, Any]]:
    consumer = {"topic": "metrics.v1", "joined": True, "lag_by_partition": {"0": 2}, "group": "detector"}
    return [
        {"name": "noida", "pid": 10, "running": True, "restarts": 0, "last_exit": None},
        {"name": "collector", "pid": 11, "running": True, "restarts": 1, "last_exit": 1,
         "status": {"ready": True, "alive": True, "last_event_at": "2026-05-01T13:09:50+00:00"}},
        {"name": "detector", "pid": 12, "running": True, "restarts": 0, "last_exit": None,
         "status": {"ready": False, "alive": True, "last_event_at": None,
                    "consumers": [consumer, consumer | {"joined": False, "lag_by_partition": {}}]}},
        {"name": "responder", "pid": 13, "running": True, "restarts": 0, "last_exit": None,
         "status": {"ready": True, "alive": False, "last_event_at": "2026-05-01T10:00:00+00:00"}},
        {"name": "rca", "pid": 14, "running": True, "restarts": 0, "last_exit": None, "status": None},
        {"name": "recovery", "pid": None, "running": False, "restarts": 3, "last_exit": 2},
        {"name": "topics", "pid": None, "running": False, "restarts": 0, "last_exit": 0},
    ]  # fmt: skip


SCENARIO = {"ok": False, "fault": "crash", "target": "demo", "incident_id": "inc-1", "severity": "major",
            "timestamps": {"opened": "13:03:04"}, "seconds_after_fault": {"opened": 4.0}, "incident_resolved": None,
            "rca_top_cause": None, "report_path": None, "anomalies": [], "missing": ["rca_published"],
            "wall_seconds": 61.5}  # fmt: skip


def _at(minute: int, second: int = 0) -> datetime:
    return datetime(2026, 5, 1, 13, minute, second, tzinfo=UTC)


def outcomes() -> tuple[list[Outcome], list[Outcome]]:
    original = [
        Outcome("inc-1", "demo", _at(3), m.Severity.MAJOR, "t", first_page_at=_at(3, 30), root_cause="demo cpu")
    ]
    replay = [Outcome("inc-9", "demo", _at(5), m.Severity.MINOR, "t"), Outcome("inc-8", "db", _at(6), m.Severity.MINOR)]
    return original, replay


def stack_state(root: Path) -> StackState:
    return StackState(root=str(root), kafka="", elasticsearch="", api_url="http://127.0.0.1:41234",
                      demo_url="", api_token="s3cret-token")  # fmt: skip


def live_incidents() -> list[dict[str, Any]]:
    return [
        {"incident_id": f"inc-{i:032x}", "severity": "critical", "status": "acknowledged",
         "opened_at": "2026-05-01T13:03:04+00:00", "target": "a-very-long-target-name-indeed",
         "title": "장애 " * 40, "response_target_breached": i == 1}
        for i in range(3)
    ]  # fmt: skip
