"""The retention settings of the detector (silent targets) and the responder (resolved incidents) from a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from services.detector.settings import DetectorSettings
from services.responder.settings import ResponderSettings
from shared.config_file import ConfigError, load_model

CASES = [(DetectorSettings, "target_retention_s"), (ResponderSettings, "incident_retention_s")]


def _load(tmp_path: Path, model: type[BaseSettings], text: str) -> BaseSettings:
    path = tmp_path / "service.yaml"
    path.write_text(text)
    return load_model(path, model)


@pytest.mark.parametrize(("model", "field"), CASES)
@pytest.mark.parametrize("value", ["600", ".inf", "1e300", "-1"])
def test_a_retention_too_short_negative_or_endless_fails_with_the_file_line_and_field(
    tmp_path: Path, model: type[BaseSettings], field: str, value: str
) -> None:
    with pytest.raises(ConfigError) as failed:
        _load(tmp_path, model, f"group_id: g\n{field}: {value}\n")
    assert str(failed.value).startswith(f"{tmp_path / 'service.yaml'}:2: {field}:")


@pytest.mark.parametrize(("model", "field"), CASES)
@pytest.mark.parametrize("value", [0.0, 3600.0, 604800.0])
def test_never_an_hour_or_a_week_are_taken(tmp_path: Path, model: type[BaseSettings], field: str, value: float) -> None:
    assert getattr(_load(tmp_path, model, f"{field}: {value}\n"), field) == value


def test_the_responder_keeps_a_resolved_incident_at_least_as_long_as_a_late_notice_is_owed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 7200"):
        _load(tmp_path, ResponderSettings, "notify_max_age_s: 7200\nincident_retention_s: 3600\n")
