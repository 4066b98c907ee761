from __future__ import annotations

from pathlib import Path

import pytest

from services.collector.settings import CollectorSettings
from shared.config_file import ConfigError

YAML = """
targets:
  - name: demo
    url: http://127.0.0.1:8080/
    pidfile: /tmp/demo.pid
    log_files: [/tmp/demo.log]
    probes_per_scrape: 3
intervals:
  normal_s: 2
  incident_s: 1
host_name: box-1
"""


def test_defaults_follow_the_manual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    s = CollectorSettings()
    assert (s.intervals.normal_s, s.intervals.incident_s, s.intervals.post_recovery_s) == (300, 60, 600)
    assert s.intervals.post_recovery_duration_s == 1800
    assert s.log_index_prefix == "application-logs" and s.ship_logs


def test_yaml_file_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(YAML)
    monkeypatch.setenv("IR_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("COLLECTOR_INTERVALS__INCIDENT_S", "0.5")
    s = CollectorSettings.load()
    assert isinstance(s, CollectorSettings)
    assert s.targets[0].name == "demo" and s.targets[0].probes_per_scrape == 3
    assert s.targets[0].log_files == (Path("/tmp/demo.log"),)
    assert s.intervals.normal_s == 2 and s.intervals.incident_s == 0.5 and s.intervals.post_recovery_s == 600
    assert s.host_name == "box-1"


def test_bad_target_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "collector.yaml"
    cfg.write_text("targets:\n  - name: demo\n    probes_per_scrape: 0\n    url: http://x/\n")
    monkeypatch.setenv("IR_CONFIG_FILE", str(cfg))
    with pytest.raises(ConfigError, match=r"collector\.yaml:3"):
        CollectorSettings.load()


def test_target_needs_something_to_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    with pytest.raises(ValueError, match="needs a url"):
        CollectorSettings(targets=[{"name": "x"}])
