from __future__ import annotations

from pathlib import Path

import pytest

from services.collector.settings import CollectorSettings, TargetConfig
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


EXPOSITION = """
targets:
  - name: web
    exposition:
      - url: http://127.0.0.1:9100/metrics
        relabel:
          - action: drop
            source_labels: [path]
            regex: "/healthz|/metrics"
          - source_labels: [code]
            target_label: status
        metrics: ["process_.*"]
        http: {requests: web_requests_total, error_status: "5..|429"}
        node: null
"""


def test_exposition_endpoints_are_configured_per_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(EXPOSITION)
    monkeypatch.setenv("IR_CONFIG_FILE", str(cfg))
    target = CollectorSettings.load().targets[0]
    assert isinstance(target, TargetConfig) and target.scraped and target.url is None
    endpoint = target.exposition[0]
    assert endpoint.name == "metrics" and [r.action for r in endpoint.rules()] == ["drop", "replace"]
    options = endpoint.options()
    assert options.node is None and options.http is not None and options.http.requests == "web_requests_total"
    assert options.http.latency_to_ms == 1000.0 and options.passthrough == ("process_.*",)


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ('"/healthz|/metrics"', '"(unclosed"', 9, "relabel.0.regex"),
        ("[code]", "[1bad]", 10, "relabel.1.source_labels"),
        ('["process_.*"]', '["*"]', 12, "metrics"),
        ('"5..|429"}', '"5..|429", latency_unit: hours}', 13, "latency_unit"),
        ("url: http:", "url: ftp:", 5, "exposition.0.url"),
    ],
)
def test_a_bad_exposition_setting_names_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, line: int, field: str
) -> None:
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(EXPOSITION.replace(old, new))
    monkeypatch.setenv("IR_CONFIG_FILE", str(cfg))
    with pytest.raises(ConfigError, match=rf"collector\.yaml:{line}: targets\.0\..*{field}"):
        CollectorSettings.load()


def test_replace_needs_a_target_label_and_endpoint_names_are_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    url = "http://127.0.0.1:9/metrics"
    with pytest.raises(ValueError, match="needs a target_label"):
        CollectorSettings(targets=[{"name": "x", "exposition": [{"url": url, "relabel": [{"source_labels": ["a"]}]}]}])
    with pytest.raises(ValueError, match="must be unique"):
        CollectorSettings(targets=[{"name": "x", "exposition": [{"url": url}, {"url": url}]}])


def test_the_readme_example_of_exposition_endpoints_is_a_valid_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    start = readme.index("targets:\n  - name: node-1")
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(readme[start : readme.index("```", start)])
    monkeypatch.setenv("IR_CONFIG_FILE", str(cfg))
    node, checkout = CollectorSettings.load().targets
    assert node.exposition[0].options().http is None and checkout.exposition[0].name == "app"
    assert [r.action for r in checkout.exposition[0].rules()] == ["drop", "replace", "replace"]
