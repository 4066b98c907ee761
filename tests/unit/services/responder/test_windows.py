"""Maintenance windows: recurring intervals (Alertmanager's time_intervals), matchers, and muting where silences do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.responder.domain.windows import MaintenanceWindow, Matcher, TimeInterval, window_active, window_mutes
from tests.unit.services.responder.helpers import Sim, anomaly


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def nightly_seoul() -> MaintenanceWindow:
    """Weeknights 22:00-24:00 Asia/Seoul (UTC+9, no DST): 13:00-15:00 UTC."""
    return MaintenanceWindow.model_validate(
        {
            "name": "nightly-db",
            "matchers": ["service=~db-.*", "metric!=process.up"],
            "time_intervals": [
                {
                    "weekdays": ["monday:friday"],
                    "times": [{"start_time": "22:00", "end_time": "24:00"}],
                    "location": "Asia/Seoul",
                }
            ],
        }
    )


def test_a_recurring_interval_holds_on_its_weekdays_and_times_in_its_zone() -> None:
    window = nightly_seoul()
    assert not window_active(window, utc(2026, 3, 18, 12, 59))  # Wednesday 21:59 KST
    assert window_active(window, utc(2026, 3, 18, 13, 0))
    assert window_active(window, utc(2026, 3, 18, 14, 59))
    assert not window_active(window, utc(2026, 3, 18, 15, 0))  # Thursday 00:00 KST
    assert not window_active(window, utc(2026, 3, 21, 13, 30))  # Saturday in Seoul


def test_days_of_month_count_from_the_end_and_months_take_names() -> None:
    last_day = TimeInterval(days_of_month=("-1",), months=("february",))
    assert last_day.contains(utc(2026, 2, 28, 10))
    assert not last_day.contains(utc(2026, 2, 27, 10))
    assert not last_day.contains(utc(2026, 3, 31, 10))
    with pytest.raises(ValidationError, match="not a weekday"):
        TimeInterval(weekdays=("funday",))
    with pytest.raises(ValidationError, match="not a time of day"):
        TimeInterval.model_validate({"times": [{"start_time": "25:00", "end_time": "26:00"}]})


def test_matchers_are_equality_or_anchored_regular_expressions() -> None:
    window = nightly_seoul()
    night = utc(2026, 3, 18, 13, 30)
    assert window_mutes(window, {"service": "db-main", "signal": "cpu"}, night)
    assert not window_mutes(window, {"service": "xdb-main", "signal": "cpu"}, night)  # anchored
    assert not window_mutes(window, {"service": "db-main", "signal": "process.up"}, night)  # metric is the signal
    assert not window_mutes(window, {"service": "db-main", "signal": "cpu"}, utc(2026, 3, 18, 16))
    assert Matcher.parse('severity!="critical"').fits({"severity": "minor"})
    with pytest.raises(ValueError, match="bad regular expression"):
        Matcher.parse("service=~(")
    with pytest.raises(ValidationError, match="at least 1 item"):
        MaintenanceWindow.model_validate({"name": "all", "matchers": [], "time_intervals": [{}]})


def test_a_window_mutes_through_the_silence_path_and_releases_when_it_ends() -> None:
    sim = Sim()
    window = MaintenanceWindow.model_validate(
        {
            "name": "deploys",
            "matchers": ["service=api"],
            "time_intervals": [{"times": [{"start_time": "12:00", "end_time": "12:01"}]}],
        }
    )
    sim.book.silences[window.silence_id] = window  # as the responder puts its configured windows
    assert sim.anomaly(anomaly("api", episode="a"), t=10).outcome == "silenced by window:deploys"  # 12:00:10 UTC
    assert sim.anomaly(anomaly("db", episode="b"), t=10).outcome == "opened"  # not matched
    assert sim.anomaly(anomaly("api", episode="c"), t=60).outcome == "opened"  # 12:01: the window is over
