"""Backup decisions of the estate: retention, status after a run, the metrics, and how the collector maps them."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from incidentctl.demo_config import BACKUP_ENDPOINT
from incidentctl.demo_estate import BackupStatusCollector
from incidentctl.estate.backup_policy import BackupStatus, after_run, backup_metrics, dump_name, expired
from services.collector.domain.exposition import parse_exposition, relabel
from services.collector.domain.signals import Snapshot, samples_of
from services.collector.exposition_config import ExpositionConfig
from shared import metric_names as mn

DUMPS = [f"demo-2026120{d}T000000Z.dump" for d in range(1, 6)]


@pytest.mark.parametrize(
    ("names", "keep", "deleted"),
    [
        (DUMPS, 5, []),
        (DUMPS, 2, DUMPS[:3]),
        (list(reversed(DUMPS)), 4, DUMPS[:1]),
        (DUMPS, 0, DUMPS),
        ([], 3, []),
        ([*DUMPS, "status.json", "demo-20261201T000000Z.partial", "other-20261101T000000Z.dump", "notes.txt"], 4,
         DUMPS[:1]),
    ],
)  # fmt: skip
def test_retention_deletes_the_oldest_dumps_of_the_database_only(
    names: list[str], keep: int, deleted: list[str]
) -> None:
    assert expired(names, database="demo", keep=keep) == deleted


def test_dump_names_sort_by_time() -> None:
    assert dump_name("demo", 0.0) == "demo-19700101T000000Z.dump"
    assert dump_name("demo", 59.0) < dump_name("demo", 60.0) < dump_name("demo", 86_400.0)


def test_a_failed_run_keeps_the_last_good_backup_time() -> None:
    first = after_run(None, at=100.0, ok=True, size_bytes=2048, file="demo-a.dump")
    failed = after_run(first, at=130.0, ok=False, error="connection refused")
    assert (failed.last_result, failed.last_ok_at, failed.last_run_at) == ("failed", 100.0, 130.0)
    assert (failed.size_bytes, failed.file, failed.error, failed.first_run_at) == (
        2048,
        "demo-a.dump",
        "connection refused",
        100.0,
    )
    again = after_run(failed, at=160.0, ok=True, size_bytes=4096, file="demo-b.dump")
    assert (again.last_result, again.last_ok_at, again.first_run_at, again.error) == ("ok", 160.0, 100.0, "")


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [
        (after_run(None, at=100.0, ok=True), 130.0, {mn.BACKUP_AGE: 30.0, mn.BACKUP_LAST_OK: 1.0}),
        (after_run(after_run(None, at=100.0, ok=True), at=200.0, ok=False), 230.0,
         {mn.BACKUP_AGE: 130.0, mn.BACKUP_LAST_OK: 0.0}),
        (after_run(None, at=50.0, ok=False), 80.0, {mn.BACKUP_AGE: 30.0, mn.BACKUP_LAST_OK: 0.0}),  # never good
        (after_run(None, at=100.0, ok=True), 90.0, {mn.BACKUP_AGE: 0.0, mn.BACKUP_LAST_OK: 1.0}),  # clock behind
    ],
)  # fmt: skip
def test_backup_metrics(status: BackupStatus, now: float, expected: dict[str, float]) -> None:
    assert backup_metrics(status, now=now) == expected


def test_the_status_file_round_trips_and_refuses_other_json() -> None:
    status = after_run(None, at=1.5, ok=False, error="x" * 500)
    assert BackupStatus.from_json(status.to_json()) == status
    assert len(status.error) == 300
    for text in ("[]", '{"last_result": "maybe", "last_run_at": 1}', "not json"):
        with pytest.raises(ValueError):
            BackupStatus.from_json(text)


def _exposition(tmp_path: Path, status: BackupStatus | None, now: float) -> str:
    registry = CollectorRegistry()
    path = tmp_path / "status.json"
    if status is not None:
        path.write_text(status.to_json())
    registry.register(BackupStatusCollector(path, clock=lambda: now))
    return generate_latest(registry).decode()


def test_the_collector_publishes_the_demo_gauges_under_the_detector_rules_names(tmp_path: Path) -> None:
    text = _exposition(tmp_path, after_run(after_run(None, at=10.0, ok=True), at=40.0, ok=False), now=70.0)
    text += 'http_requests_total{method="GET",path="/",status="200"} 5.0\n'  # the demo's other series stay out
    config = ExpositionConfig.model_validate({"url": "http://127.0.0.1:1/metrics", **BACKUP_ENDPOINT})
    series = relabel(parse_exposition(text, openmetrics=False, max_series=100), config.rules())
    samples, cut = samples_of(Snapshot(0.0, series), None, 0.0, config.options())
    assert cut == 0
    assert {s.name: s.value for s in samples} == {mn.BACKUP_AGE: 60.0, mn.BACKUP_LAST_OK: 0.0}


def test_no_status_file_no_backup_gauges(tmp_path: Path) -> None:
    assert "estate_backup" not in _exposition(tmp_path, None, now=1.0)
