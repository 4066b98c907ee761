"""docker-compose.yml checked offline: the compose specification's schema, and what the code needs of it."""

from __future__ import annotations

import copy
import importlib
import importlib.resources
import json
import re
from typing import Any

import jsonschema
import pytest

from shared.settings import ServiceSettings
from shared.topic_admin import topic_specs
from tests.unit.deploy.deployment import (
    COMPOSE,
    REPO,
    SERVICES,
    compose_config_file,
    compose_env,
    env_names,
    load_settings,
    settings_class,
)

PROCESS_ENV = {"PYTHONUNBUFFERED", "IR_CONFIG_FILE"}
KAFKA_NODES = ("kafka-1", "kafka-2", "kafka-3")
BOOTSTRAP = ",".join(f"{n}:9092" for n in KAFKA_NODES)


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema (compose-spec/compose-spec, as vendored by check-jsonschema)."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


def test_compose_follows_the_compose_specification() -> None:
    schema = compose_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(COMPOSE)]
    assert errors == []
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["rca"]["restart_policy"] = "always"  # not a compose key: the schema must say so
    assert list(validator.iter_errors(broken))


def test_compose_has_the_stack() -> None:
    services = COMPOSE["services"]
    assert "elasticsearch:8" in services["elasticsearch"]["image"]
    for node in KAFKA_NODES:
        kafka = services[node]
        assert "apache/kafka" in kafka["image"]
        env = kafka["environment"]
        assert "controller" in env["KAFKA_PROCESS_ROLES"] and "KAFKA_ZOOKEEPER_CONNECT" not in env
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{node}:9092"
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(v.split("@")[1] for v in voters) == [f"{n}:9093" for n in KAFKA_NODES]
        assert f"{env['KAFKA_NODE_ID']}@{node}:9093" in voters
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2 and env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
    assert len({services[n]["environment"]["CLUSTER_ID"] for n in KAFKA_NODES}) == 1
    assert len({v for n in KAFKA_NODES for v in services[n]["volumes"]}) == len(KAFKA_NODES)  # a disk each
    assert set(SERVICES) <= set(services)


def test_topics_are_created_replicated_three_times_two_in_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    topics = COMPOSE["services"]["topics"]
    assert topics["command"] == ["incidentctl", "create-topics"]
    assert all(topics["depends_on"][n]["condition"] == "service_healthy" for n in KAFKA_NODES)
    for key, value in topics["environment"].items():
        monkeypatch.setenv(key, str(value))
    specs = topic_specs(ServiceSettings.load())
    assert {(s.replication_factor, s.configs["min.insync.replicas"]) for s in specs} == {(3, "2")}


@pytest.mark.parametrize("service", SERVICES)
def test_service_command_and_env_match_the_code(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = COMPOSE["services"][service]
    assert spec["build"]["dockerfile"] == "Dockerfile" and (REPO / "Dockerfile").exists()
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert importlib.util.find_spec(f"services.{service}.__main__") is not None
    accepted = env_names(settings_class(service)) | PROCESS_ENV
    env = compose_env(service)
    wildcards = tuple(n.removesuffix("*") for n in accepted if n.endswith("__*"))
    unknown = {k for k in set(env) - accepted if not k.startswith(wildcards)}
    assert not unknown, f"{service}: compose sets variables the code never reads: {sorted(unknown)}"
    assert env["HTTP_PORT"] == "8080" and "127.0.0.1:8080/readyz" in spec["healthcheck"]["test"][-1]
    assert compose_config_file(service).exists()
    settings = load_settings(service, dict(env), compose_config_file(service), monkeypatch)
    assert settings.kafka_bootstrap_servers == BOOTSTRAP and settings.kafka_replication_factor == 3


def test_every_service_is_started_after_topics_exist() -> None:
    for name in SERVICES:
        assert COMPOSE["services"][name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_the_reports_volume_starts_out_writable_by_the_image_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty named volume takes the ownership of the image's directory it is mounted on: uid 10001's."""
    dockerfile = (REPO / "Dockerfile").read_text()
    uid = re.search(r"^USER (\d+)$", dockerfile, re.M).group(1)  # type: ignore[union-attr]
    rca = load_settings("rca", dict(compose_env("rca")), compose_config_file("rca"), monkeypatch)
    volumes = dict(m.split(":")[1::-1] for m in COMPOSE["services"]["rca"]["volumes"])  # container path -> source
    source = volumes[rca.reports_dir]
    assert source in COMPOSE["volumes"], "reports must be a named volume (a bind mount keeps the host's owner)"
    assert not next(m for m in COMPOSE["services"]["rca"]["volumes"] if f":{rca.reports_dir}" in m).endswith(":ro")
    assert re.search(rf"mkdir -p {re.escape(rca.reports_dir)}\b.*chown {uid}:{uid} {re.escape(rca.reports_dir)}",
                     dockerfile), "the Dockerfile must create reports_dir owned by the USER"  # fmt: skip
    responder = COMPOSE["services"]["responder"]["volumes"]
    assert f"{source}:{rca.reports_dir}:ro" in responder  # the API serves them read-only
