"""A bad configuration file fails at start with the file, the line and the field."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from pydantic import BaseModel

from shared.config_file import ConfigError, load_model
from shared.settings import ServiceSettings


class Rule(BaseModel):
    metric: str
    above: float


class Rules(BaseModel):
    rules: list[Rule]
    sustain_s: float = 0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_valid_file_loads(tmp_path: Path) -> None:
    loaded = load_model(write(tmp_path, "rules:\n  - metric: cpu\n    above: 90\n"), Rules)
    assert loaded.rules[0].above == 90


def test_wrong_type_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "sustain_s: 5\nrules:\n  - metric: cpu\n    above: ninety\n")
    with pytest.raises(ConfigError, match=rf"{path}:4: rules\.0\.above: .*number"):
        load_model(path, Rules)


def test_missing_field_points_at_its_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - metric: cpu\n")
    with pytest.raises(ConfigError, match=rf"{path}:2: rules\.0\.above: Field required"):
        load_model(path, Rules)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - metric: [cpu\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: invalid YAML"):
        load_model(path, Rules)


def test_service_settings_file_errors_are_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("log_level: INFO\nhttp_port: not-a-port\n")
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match=rf"{path}:2: http_port"):
        ServiceSettings.load()


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("http_port: 9000\nkafka_bootstrap_servers: from-file:9092\n")
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "from-env:9092")
    settings = ServiceSettings.load()
    assert settings.kafka_bootstrap_servers == "from-env:9092" and settings.http_port == 9000


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "hunter2")
    settings = ServiceSettings.load()
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


def test_unknown_setting_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("log_level: INFO\nhttp_prot: 9000\n")
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match=rf"{path}:2: http_prot: unknown setting"):
        ServiceSettings.load()


@pytest.mark.parametrize("service", ["collector", "detector", "responder", "recovery", "rca"])
def test_every_service_refuses_to_start_on_a_bad_file(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "group_id: ok\nno_such_setting: 1\n")
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    main = importlib.import_module(f"services.{service}.__main__").main
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    assert f"{path}:2: no_such_setting: unknown setting" in capsys.readouterr().err
