"""The Grafana dashboard of the services' own metrics, and the Prometheus and Grafana that compose provisions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.runtime import Runtime
from tests.unit.shared.test_runtime import BUILDS

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "incident-response.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yaml"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = ("collector", "detector", "responder", "recovery", "rca")
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
NAME = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b")
BY = re.compile(r"\bby\s*\(([^)]*)\)")


def _collectors() -> dict[str, tuple[str, set[str]]]:
    """Every metric family the five services register: name -> (type, label names)."""
    families: dict[str, tuple[str, set[str]]] = {}
    for build, settings_cls in BUILDS.values():
        runtime: Runtime = build(settings_cls(kafka_bootstrap_servers="127.0.0.1:1"))
        runtime.asgi_app()  # the responder's API registers its metrics here
        registry = runtime.service.metrics.registry
        for collector in registry._collector_to_names:  # no public listing of label names without children
            for family in collector.describe():
                labels = set(getattr(collector, "_labelnames", ()))
                families[family.name] = (family.type, labels)
    return families


FAMILIES = _collectors()


def _dashboard() -> dict[str, Any]:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def _sample_names() -> dict[str, str]:
    """Series name as Prometheus stores it -> its family."""
    return {name + s: name for name, (kind, _) in FAMILIES.items() for s in SUFFIXES[kind]}


def test_the_dashboard_is_grafana_json_with_unique_ids_on_the_grid() -> None:
    doc = _dashboard()
    assert doc["uid"] and doc["title"] and doc["schemaVersion"] >= 36
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0
    assert all(p["targets"] and p["title"] and p["description"] for p in _panels())


def test_every_query_names_only_metrics_the_services_export() -> None:
    samples = _sample_names()
    named = {n for expr in _exprs() for n in NAME.findall(expr) if n.startswith("ir_")}
    unknown = named - set(samples)
    assert not unknown, f"the dashboard queries metrics no service exports: {sorted(unknown)}"
    shown = {samples[n] for n in named}
    assert shown == set(FAMILIES), f"metrics without a panel: {sorted(set(FAMILIES) - shown)}"


def test_every_grouping_label_exists_on_the_metrics_grouped() -> None:
    for expr in _exprs():
        families = {_sample_names()[n] for n in NAME.findall(expr) if n in _sample_names()}
        labels = set().union(*(FAMILIES[f][1] for f in families)) | TARGET_LABELS
        if any(FAMILIES[f][0] == "histogram" for f in families):
            labels.add("le")
        for group in BY.findall(expr):
            used = {label.strip() for label in group.split(",") if label.strip()}
            assert used <= labels, f"{expr}: {sorted(used - labels)} not labels of {sorted(families)}"


def test_panels_use_the_provisioned_datasource() -> None:
    (source,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    for panel in _panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
        assert all(t["datasource"]["uid"] == source["uid"] for t in panel["targets"])


def test_compose_provisions_grafana_and_prometheus_scrapes_every_service() -> None:
    services = COMPOSE["services"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in services["grafana"]["volumes"])
    assert mounts == {"./deploy/grafana/provisioning": "/etc/grafana/provisioning",
                      "./deploy/grafana/dashboards": "/var/lib/grafana/dashboards"}  # fmt: skip
    assert all((ROOT / host).is_dir() for host in mounts)
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "incident-response.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert "${GRAFANA_ADMIN_PASSWORD:?" in services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]
    scrape = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
    targets = {c["job_name"]: c["static_configs"][0]["targets"] for c in scrape}
    for name in SERVICES:
        port = services[name]["environment"]["HTTP_PORT"]
        assert targets[name] == [f"{name}:{port}"]


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (scripts/test.sh installs Debian's prometheus)")
def test_promtool_accepts_the_prometheus_config_and_every_dashboard_query(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    config = subprocess.run([PROMTOOL, "check", "config", str(PROMETHEUS)], capture_output=True, text=True)
    assert config.returncode == 0, config.stdout + config.stderr
    rules = [
        {"record": f"dashboard:query_{i}", "expr": e.replace("$__rate_interval", "5m").replace("$job", ".*")}
        for i, e in enumerate(_exprs())
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump({"groups": [{"name": "b", "rules": [{"record": "b:x", "expr": "sum by (job"}]}]}))
    assert subprocess.run([PROMTOOL, "check", "rules", str(broken)], capture_output=True).returncode != 0
