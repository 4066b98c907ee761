"""What the deployment tests read: the rendered k8s manifests, compose, and what the code reads and subscribes."""

from __future__ import annotations

import importlib
import inspect
import shutil
import subprocess
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, BaseModel

from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
KUSTOMIZATION: dict[str, Any] = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = ("collector", "detector", "responder", "recovery", "rca")
CONFIG_FILE_ENV = "IR_CONFIG_FILE"


def settings_class(service: str) -> type[ServiceSettings]:
    """The one ServiceSettings subclass of ``services.<service>.settings``."""
    module = importlib.import_module(f"services.{service}.settings")
    found = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, ServiceSettings) and obj is not ServiceSettings and obj.__module__ == module.__name__
    ]
    assert len(found) == 1, f"services.{service}.settings must define one ServiceSettings subclass: {found}"
    return found[0]


def env_names(cls: type[Any], prefix: str | None = None) -> set[str]:
    """Every environment variable name a pydantic-settings class reads (nested with ``__``; ``X__*``: any key)."""
    prefix = cls.model_config.get("env_prefix", "") if prefix is None else prefix
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names |= {str(c).upper() for c in alias.choices}
        else:
            names.add(f"{prefix}{name}".upper())
            annotation = field.annotation
            if typing.get_origin(annotation) is dict:  # a mapping takes any key: <PREFIX><FIELD>__<KEY>
                names.add(f"{prefix}{name}__*".upper())
            if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
                names |= {f"{prefix}{name}__{sub}".upper() for sub in annotation.model_fields}
                if hasattr(annotation, "model_config") and annotation.model_config.get("env_prefix"):
                    names |= env_names(annotation)
    return names


def field_of(cls: type[ServiceSettings], env: str) -> str | None:
    """The top-level field an environment variable sets (None if the class reads no such variable)."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            if alias.upper() == env:
                return name
        elif env == f"{prefix}{name}".upper() or env.startswith(f"{prefix}{name}__".upper()):
            return name
    return None


def _from_files() -> list[dict[str, Any]]:
    """The manifests as kustomize renders them, from the files kustomization.yaml lists (no kustomize needed)."""
    namespace = KUSTOMIZATION["namespace"]
    docs: list[dict[str, Any]] = []
    for name in KUSTOMIZATION["resources"]:
        docs += [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]
    for kind, generators in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in KUSTOMIZATION.get(generators, []):
            data = {Path(f).name: (DEPLOY / f).read_text() for f in generator.get("files", [])}
            for env_file in generator.get("envs", []):
                data |= read_env_file(DEPLOY / env_file)
            doc: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": generator["name"]}}
            doc["data" if kind == "ConfigMap" else "stringData"] = data
            docs.append(doc)
    image = KUSTOMIZATION["images"][0]
    for doc in docs:
        if doc["kind"] != "Namespace":
            doc["metadata"].setdefault("namespace", namespace)
        for pod in pod_specs(doc):
            for container in pod["containers"]:
                if container["image"] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    return docs


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a kustomize env file (comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {k.strip(): v for k, v in pairs}


def kustomize_render() -> list[dict[str, Any]] | None:
    """``kubectl kustomize deploy`` where kubectl is installed, else None."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=60, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod spec of a workload (Deployment, DaemonSet, Job), or none."""
    template = doc.get("spec", {}).get("template")
    return [template["spec"]] if doc["kind"] in ("Deployment", "DaemonSet", "Job", "StatefulSet") and template else []


MANIFESTS = _from_files()


def workloads() -> dict[str, dict[str, Any]]:
    """Every workload by name."""
    return {d["metadata"]["name"]: d for d in MANIFESTS if pod_specs(d)}


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    """Every manifest of ``kind`` by name."""
    return {d["metadata"]["name"]: d for d in MANIFESTS if d["kind"] == kind}


def container_of(service: str) -> dict[str, Any]:
    """The (only) container of the service's workload."""
    containers: list[dict[str, Any]] = workloads()[service]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def k8s_env(service: str) -> dict[str, str | None]:
    """Every variable the service's container gets: env, and envFrom config maps and secrets (None: from a field)."""
    container = container_of(service)
    by_name = {d["metadata"]["name"]: d for d in MANIFESTS if d["kind"] in ("ConfigMap", "Secret")}
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef") or source.get("secretRef")
        doc = by_name[ref["name"]]
        env |= doc.get("data") or doc.get("stringData") or {}
    for item in container.get("env", []):
        env[item["name"]] = item.get("value")
    return env


def k8s_config_file(service: str) -> Path:
    """The repository file the service's IR_CONFIG_FILE names inside its pod (through the config map)."""
    path = k8s_env(service)[CONFIG_FILE_ENV]
    assert path is not None
    return DEPLOY / "config" / Path(path).name


def compose_env(service: str) -> dict[str, str]:
    """The environment compose gives a service."""
    return {k: str(v) for k, v in COMPOSE["services"][service].get("environment", {}).items()}


def compose_config_file(service: str) -> Path:
    """The repository file mounted where the service's IR_CONFIG_FILE points."""
    spec = COMPOSE["services"][service]
    mounted = {m.split(":")[1]: m.split(":")[0] for m in spec.get("volumes", []) if isinstance(m, str)}
    return REPO / mounted[compose_env(service)[CONFIG_FILE_ENV]]


def load_settings(service: str, env: dict[str, str | None], config: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The service's settings as its container would load them (secrets from the deployer: placeholders)."""
    for key, value in env.items():
        if value is None or "${" in value:
            value = "pod-1" if key == "IR_INSTANCE_ID" else "placeholder-secret"
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(CONFIG_FILE_ENV, str(config))
    return settings_class(service).load()


def subscriptions(service: str, settings: Any) -> list[tuple[str, str]]:
    """(consumer group, topic) of every subscription the service's composition root makes (nothing connects)."""
    app = importlib.import_module(f"services.{service}.app")
    runtime = app.build(settings)
    return [(m.group_id, m.topic) for m in runtime.service.bus.members]
