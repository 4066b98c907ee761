"""With the estate, its settings reach the demo (and its restarts), and the collector scrapes the backup gauges."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentctl import demo_config
from incidentctl.child_env import child_env
from incidentctl.demo_estate import BACKUP_STATUS_ENV, DSN_ENV
from incidentctl.estate import haproxy
from incidentctl.stack import StackState
from services.collector.settings import CollectorSettings
from services.recovery.settings import ManagedProcessConfig

ESTATE_ENV = {DSN_ENV: "host=127.0.0.1 port=6 dbname=demo user=demo passfile=/x/pgpass", BACKUP_STATUS_ENV: "/x/s.json"}


def _state(tmp_path: Path) -> StackState:
    return StackState(root=str(tmp_path), kafka="127.0.0.1:1", elasticsearch="http://127.0.0.1:2",
                      api_url="http://127.0.0.1:3", demo_url="http://127.0.0.1:4", api_token="t")  # fmt: skip


def test_without_the_estate_the_configs_are_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    demo = demo_config.demo_process(tmp_path, 4)
    configs = demo_config.service_configs(tmp_path, _state(tmp_path), demo)
    assert demo.env == {}
    assert len(configs["collector"]["targets"][0]["exposition"]) == 1
    assert "env" not in configs["recovery"]["managed_processes"][0]


def test_with_the_estate_the_collector_scrapes_the_backup_gauges_and_recovery_restarts_the_demo_with_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    demo = demo_config.demo_process(tmp_path, 4, ESTATE_ENV)
    configs = demo_config.service_configs(tmp_path, _state(tmp_path), demo)
    target = CollectorSettings.model_validate(configs["collector"]).targets[0]
    red, backup = target.exposition
    assert red.url == backup.url == "http://127.0.0.1:4/metrics"
    assert backup.name == "backup" and backup.options().http is None and backup.options().node is None
    managed = ManagedProcessConfig.model_validate(configs["recovery"]["managed_processes"][0])
    assert managed.env == ESTATE_ENV


def test_only_the_demo_gets_the_estate_settings() -> None:
    parent = {"PATH": "/usr/bin", "IR_API_TOKEN": "secret"}
    assert child_env("demo", parent, ESTATE_ENV).items() >= ESTATE_ENV.items()
    assert "IR_API_TOKEN" not in child_env("demo", parent, ESTATE_ENV)
    assert DSN_ENV not in child_env("collector", parent, ESTATE_ENV)


def test_haproxy_keeps_the_read_only_standby_out_until_failover_and_has_a_health_frontend() -> None:
    text = haproxy.config(port=1, primary_port=2, standby_port=3, health_port=4, admin_socket=Path("/tmp/x.sock"))
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server ")]
    assert [(s[1], s[2], s[-1]) for s in servers] == [
        ("primary", "127.0.0.1:2", "2"),
        ("standby", "127.0.0.1:3", "disabled"),
    ]
    assert "bind 127.0.0.1:4" in text and "tcp-request connection reject if { nbsrv(pg) lt 1 }" in text
    assert "stats socket /tmp/x.sock mode 600 level admin" in text and "bind 127.0.0.1:1" in text


def test_the_estate_is_skipped_with_a_reason_when_a_program_is_missing(tmp_path: Path) -> None:
    from incidentctl.estate import runner

    reason = runner.unavailable(tmp_path / "no-haproxy")
    assert reason is not None and "HAProxy not found" in reason
