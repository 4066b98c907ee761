"""docker-compose.yml checked offline: it parses, and each service's command and env match the code."""

from __future__ import annotations

import importlib
import inspect
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, BaseModel

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = ("collector", "detector", "responder", "recovery", "rca")
PROCESS_ENV = {"PYTHONUNBUFFERED", "IR_CONFIG_FILE"}


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    found = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, ServiceSettings) and obj is not ServiceSettings and obj.__module__ == module.__name__
    ]
    assert len(found) == 1, f"services.{service}.settings must define one ServiceSettings subclass: {found}"
    return found[0]


def env_names(cls: type[Any], prefix: str | None = None) -> set[str]:
    """Every environment variable name a pydantic-settings class reads (nested with ``__``)."""
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


def test_compose_has_the_stack() -> None:
    services = COMPOSE["services"]
    assert "apache/kafka" in services["kafka"]["image"]
    assert "elasticsearch:8" in services["elasticsearch"]["image"]
    kraft = services["kafka"]["environment"]
    assert "controller" in kraft["KAFKA_PROCESS_ROLES"] and "KAFKA_ZOOKEEPER_CONNECT" not in kraft
    assert set(SERVICES) <= set(services)


@pytest.mark.parametrize("service", SERVICES)
def test_service_command_and_env_match_the_code(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = COMPOSE["services"][service]
    assert spec["build"]["dockerfile"] == "Dockerfile" and (ROOT / "Dockerfile").exists()
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert importlib.util.find_spec(f"services.{service}.__main__") is not None
    cls = settings_class(service)
    accepted = env_names(cls) | PROCESS_ENV
    env = {k: str(v) for k, v in spec["environment"].items()}
    wildcards = tuple(n.removesuffix("*") for n in accepted if n.endswith("__*"))
    unknown = {k for k in set(env) - accepted if not k.startswith(wildcards)}
    assert not unknown, f"{service}: compose sets variables the code never reads: {sorted(unknown)}"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["HTTP_PORT"] == "8080" and "127.0.0.1:8080/readyz" in spec["healthcheck"]["test"][-1]

    mounted = {m.split(":")[1]: m.split(":")[0] for m in spec.get("volumes", []) if isinstance(m, str)}
    config_in_container = env["IR_CONFIG_FILE"]
    config_in_repo = ROOT / mounted[config_in_container]
    assert config_in_repo.exists(), config_in_repo
    for key, value in env.items():
        if "${" not in value:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("IR_CONFIG_FILE", str(config_in_repo))
    for key, value in env.items():
        if "${" in value:  # secrets come from the deployer's environment
            monkeypatch.setenv(key, "placeholder-secret")
    settings = cls.load()
    assert settings.kafka_bootstrap_servers == "kafka:9092"


def test_every_service_is_started_after_topics_exist() -> None:
    services = COMPOSE["services"]
    assert services["topics"]["command"] == ["incidentctl", "create-topics"]
    for name in SERVICES:
        assert services[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
