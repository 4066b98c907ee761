"""Each spawned process gets only the environment it needs; secrets reach only their owner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from incidentctl.child_env import SERVICES, child_env
from incidentctl.procs import spawn

PARENT = {
    "PATH": "/usr/bin",
    "HOME": "/home/op",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONPATH": "/src",
    "VIRTUAL_ENV": "/venv",
    "AWS_SECRET_ACCESS_KEY": "shell-credential",
    "GITHUB_TOKEN": "shell-token",
    "IR_API_TOKEN": "api-token",
    "RESPONDER_API_TOKEN": "api-token",
    "RESPONDER_API_READ_TOKEN": "read-token",
    "RESPONDER_SECRETS__PAGER": "hmac-key",
    "KAFKA_BOOTSTRAP_SERVERS": "broker:9093",
    "KAFKA_SASL_PASSWORD": "kafka-password",
    "ELASTICSEARCH_API_KEY": "es-key",
    "DETECTOR_PROFILE": "demo",
    "PAGER_WEBHOOK_SECRET": "pager-secret",
}
SECRETS = {"shell-credential", "shell-token", "api-token", "read-token", "hmac-key", "kafka-password", "es-key",
           "pager-secret"}  # fmt: skip


def test_the_demo_service_gets_no_secret_at_all() -> None:
    env = child_env("demo", PARENT)
    assert not set(env.values()) & SECRETS
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/op" and env["LC_ALL"] == "C.UTF-8"
    assert env["PYTHONPATH"] == "/src" and env["PYTHONUNBUFFERED"] == "1"


def test_only_the_responder_gets_the_api_token_and_channel_secrets() -> None:
    responder = child_env("responder", PARENT)
    assert responder["RESPONDER_API_TOKEN"] == "api-token" and responder["RESPONDER_SECRETS__PAGER"] == "hmac-key"
    assert responder["RESPONDER_API_READ_TOKEN"] == "read-token"
    for name in (n for n in SERVICES if n != "responder"):
        env = child_env(name, PARENT)
        assert not {"api-token", "read-token", "hmac-key", "pager-secret"} & set(env.values()), name


@pytest.mark.parametrize("name", SERVICES)
def test_services_get_broker_and_elasticsearch_settings_but_not_the_shell_credentials(name: str) -> None:
    env = child_env(name, PARENT)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "broker:9093" and env["KAFKA_SASL_PASSWORD"] == "kafka-password"
    assert env["ELASTICSEARCH_API_KEY"] == "es-key"
    assert "AWS_SECRET_ACCESS_KEY" not in env and "GITHUB_TOKEN" not in env and "IR_API_TOKEN" not in env


def test_extra_values_follow_the_same_rule() -> None:
    env = child_env("detector", {}, {"HTTP_PORT": "9100", "IR_CONFIG_FILE": "/c.yaml", "RESPONDER_API_TOKEN": "x"})
    assert env == {"HTTP_PORT": "9100", "IR_CONFIG_FILE": "/c.yaml", "PYTHONUNBUFFERED": "1"}
    pager = child_env("pager", PARENT, {"PAGER_WEBHOOK_SECRET": "s2"})
    assert pager["PAGER_WEBHOOK_SECRET"] == "s2" and "KAFKA_BOOTSTRAP_SERVERS" not in pager


def test_spawn_hands_over_exactly_the_given_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPONDER_API_TOKEN", "must-not-leak")
    env = child_env("demo", os.environ)
    log = tmp_path / "env.log"
    code = "import os; print(sorted(os.environ))"
    spawn([sys.executable, "-c", code], log_file=log, env=env, inherit_env=False).wait(timeout=30)
    seen = log.read_text()
    assert "RESPONDER_API_TOKEN" not in seen and "PATH" in seen
