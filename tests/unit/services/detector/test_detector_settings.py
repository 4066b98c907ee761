"""Detector settings: production defaults, the demo profile, YAML and env overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.detector.domain.tracker import Change, Emission
from services.detector.emit import to_event
from services.detector.settings import DetectorSettings
from shared import events as ev
from shared.config_file import ConfigError
from tests.factories import anomaly


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    monkeypatch.delenv("DETECTOR_PROFILE", raising=False)


def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> DetectorSettings:
    path = tmp_path / "detector.yaml"
    path.write_text(text)
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    settings = DetectorSettings.load()
    assert isinstance(settings, DetectorSettings)
    return settings


def test_production_defaults_follow_the_manual() -> None:
    settings = DetectorSettings()
    config = settings.detection()
    cpu = next(r for r in config.rules if r.name == "host-cpu")
    assert (cpu.value, cpu.sustain_s) == (90, 300)
    assert not settings.logs.enabled and settings.logs.index_pattern == "application-logs*"
    assert config.statistical.detector.warmup_samples > 20


def test_demo_profile_uses_seconds_and_explicit_keys_still_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = load(
        monkeypatch, tmp_path, "profile: demo\nepisodes:\n  close_delay_s: 3\nlogs:\n  poll_interval_s: 0.5\n"
    )
    assert settings.episodes.close_delay_s == 3 and settings.logs.poll_interval_s == 0.5
    assert settings.logs.enabled and settings.logs.patterns["bucket_seconds"] == 5
    assert max(r.sustain_s for r in settings.rules) <= 10
    assert settings.detection().statistical.detector.warmup_samples == 8


def test_episode_budget_setting_reaches_the_domain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert DetectorSettings().detection().statistical.budget.per_day == 6
    settings = load(monkeypatch, tmp_path, "statistical:\n  max_episodes_per_day: 2\n  budget_threshold_step: 0.2\n")
    budget = settings.detection().statistical.budget
    assert (budget.per_day, budget.threshold_step) == (2, 0.2)
    with pytest.raises(ConfigError, match="max_episodes_per_day"):
        load(monkeypatch, tmp_path, "statistical:\n  max_episodes_per_day: -1\n")


def test_env_overrides_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DETECTOR_LOGS__INDEX_PATTERN", "other-logs*")
    settings = load(monkeypatch, tmp_path, "logs:\n  enabled: true\n  index_pattern: app*\n")
    assert settings.logs.enabled and settings.logs.index_pattern == "other-logs*"


def test_rules_are_replaced_from_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = "rules:\n  - name: disk\n    metric: host.disk_percent\n    value: 80\n    impact: resource_pressure\n"
    settings = load(monkeypatch, tmp_path, text)
    assert [(r.name, r.value, r.sustain_s) for r in settings.detection().rules] == [("disk", 80, 0)]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("rules:\n  - name: x\n    metric: m\n    value: 1\n    impact: nope\n", "rules.0.impact"),
        ("statistical:\n  detector:\n    warmup: 3\n", "unknown keys ['warmup']"),
        ("episodes:\n  close_delay_s: -1\n", "episodes.close_delay_s"),
    ],
)
def test_bad_yaml_names_the_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=r"detector\.yaml:\d+") as err:
        load(monkeypatch, tmp_path, text)
    assert needle in str(err.value)


def test_anomaly_event_ids_derive_from_anomaly_id_and_revision() -> None:
    data = anomaly("demo").data
    first = to_event(Emission(Change.DETECTED, data), source="/s", time=data.since)
    again = to_event(Emission(Change.DETECTED, data), source="/other", time=data.last_seen)
    later = to_event(Emission(Change.UPDATED, data.model_copy(update={"revision": 2})), source="/s", time=data.since)
    assert isinstance(first, ev.AnomalyDetected) and isinstance(later, ev.AnomalyUpdated)
    assert first.id == again.id and later.id != first.id


def test_the_example_file_loads_and_spells_out_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parents[4] / "services" / "detector" / "detector.example.yaml"
    monkeypatch.setenv("IR_CONFIG_FILE", str(example))
    loaded = DetectorSettings.load()
    monkeypatch.delenv("IR_CONFIG_FILE")
    assert isinstance(loaded, DetectorSettings)
    assert loaded.detection() == DetectorSettings().detection()
    assert loaded.log_watch() == DetectorSettings().log_watch()
