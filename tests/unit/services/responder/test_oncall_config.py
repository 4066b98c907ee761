"""On-call and maintenance-window configuration: the README's example loads; errors name file, line and field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.responder.domain.oncall import on_call
from services.responder.domain.windows import window_active
from services.responder.settings import ResponderSettings
from shared.config_file import ConfigError

README = Path(__file__).resolve().parents[4] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- oncall-example -->\n```yaml\n(.*?)```", text, re.S)
    assert found is not None, "the README lost its on-call example"
    return found[1]


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, name: str = "responder.yaml") -> ResponderSettings:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    return ResponderSettings.load()


def test_the_readme_example_loads_and_means_what_it_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(tmp_path, monkeypatch, readme_example())
    schedule = settings.roster().schedule("l2-primary")
    assert schedule is not None
    assert on_call(schedule, datetime(2026, 3, 18, 9, 0, tzinfo=UTC)).person == "cat"  # Wednesday 10:00 CET
    assert on_call(schedule, datetime(2026, 3, 18, 20, 0, tzinfo=UTC)).person == "ann"
    assert on_call(schedule, datetime(2026, 3, 23, 18, 0, tzinfo=UTC)).person == "bob"  # Monday evening: handed off
    assert on_call(schedule, datetime(2026, 3, 20, 20, 0, tzinfo=UTC)).person == "cat"  # the override
    (window,) = settings.maintenance_windows
    assert window_active(window, datetime(2026, 3, 17, 17, 30, tzinfo=UTC))  # Wednesday 02:30 KST


BAD_ZONE = """\
oncall:
  people:
    - name: ann
      contacts: [{type: log}]
  schedules:
    - name: l2
      team: L2
      layers:
        - name: base
          rotation:
            people: [ann]
            timezone: Mars/Olympus
            start: 2026-01-01
"""


def test_a_bad_time_zone_is_reported_with_file_line_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, monkeypatch, BAD_ZONE)
    path = tmp_path / "responder.yaml"
    assert f"{path}:12: oncall.schedules.0.layers.0.rotation.timezone:" in str(caught.value)
    assert "unknown time zone 'Mars/Olympus'" in str(caught.value)


BAD_WINDOW = """\
maintenance_windows:
  - name: nightly
    matchers: ["service=~("]
    time_intervals:
      - {weekdays: [monday:friday]}
  - name: weekly
    matchers: ["service=api"]
    time_intervals:
      - {weekdays: [someday]}
"""


def test_bad_matchers_and_intervals_are_reported_with_their_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, monkeypatch, BAD_WINDOW)
    message = str(caught.value)
    path = tmp_path / "responder.yaml"
    assert f"{path}:3: maintenance_windows.0.matchers: " in message and "bad regular expression" in message
    assert f"{path}:9: maintenance_windows.1.time_intervals.0.weekdays: " in message and "not a weekday" in message


UNKNOWN_PERSON = """\
people:
  - name: ann
    contacts: [{type: log}]
schedules:
  - name: l1
    team: L1
    layers:
      - name: base
        rotation: {people: [ann, zed], start: 2026-01-01}
"""


def test_an_oncall_file_is_checked_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "oncall.yaml").write_text(UNKNOWN_PERSON, encoding="utf-8")
    settings = load(tmp_path, monkeypatch, "oncall_file: oncall.yaml\n")
    with pytest.raises(ConfigError) as caught:
        settings.roster()
    assert f"{tmp_path / 'oncall.yaml'}:1: (root): " in str(caught.value)
    assert "unknown person 'zed'" in str(caught.value)
