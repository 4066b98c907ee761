"""deploy/ checked offline as kustomize would read it: files inside its root, services wired to their config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3] / "deploy"
KUSTOMIZATION = yaml.safe_load((ROOT / "kustomization.yaml").read_text())
SERVICES = ("collector", "detector", "responder", "recovery", "rca")


def referenced_files() -> list[str]:
    files = list(KUSTOMIZATION["resources"])
    for generator in (*KUSTOMIZATION["configMapGenerator"], *KUSTOMIZATION["secretGenerator"]):
        files += generator.get("files", []) + generator.get("envs", [])
    return files


def deployments() -> dict[str, dict[str, Any]]:
    docs = yaml.safe_load_all((ROOT / "k8s" / "services.yaml").read_text())
    return {d["metadata"]["name"]: d for d in docs if d and d["kind"] == "Deployment"}


def test_every_referenced_file_exists_inside_the_root() -> None:
    for name in referenced_files():
        path = (ROOT / name).resolve()
        assert path.is_relative_to(ROOT.resolve()), f"{name}: kustomize refuses files above its root"
        assert path.exists(), name


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_its_module_with_its_config_file(service: str) -> None:
    container = deployments()[service]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", f"services.{service}"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    config = Path(env["IR_CONFIG_FILE"])
    instance = next(e for e in container["env"] if e["name"] == "IR_INSTANCE_ID")
    assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"  # stable across container restarts
    mounted = {m["mountPath"] for m in container["volumeMounts"]}
    assert str(config.parent) in mounted
    config_files = next(g["files"] for g in KUSTOMIZATION["configMapGenerator"] if "files" in g)
    assert f"config/{config.name}" in config_files
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_tokens_and_channel_keys_reach_the_responder_pod_only() -> None:
    for service, deployment in deployments().items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        secrets = {ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref}
        assert ("incident-response-responder-secrets" in secrets) == (service == "responder"), service
        assert ("incident-response-collector-secrets" in secrets) == (service == "collector"), service
