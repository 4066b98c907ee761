"""The empty-fetch floor follows the idle time: short while records flow, the full floor once idle."""

from __future__ import annotations

from shared.fetch_wait import empty_fetch_wait


def test_right_after_records_an_empty_fetch_waits_a_millisecond() -> None:
    assert empty_fetch_wait(0.0, 0.1) == 0.001


def test_the_wait_is_a_quarter_of_the_idle_time() -> None:
    assert empty_fetch_wait(0.1, 0.1) == 0.025


def test_a_long_idle_waits_the_floor_and_a_consumer_that_never_got_records_too() -> None:
    assert empty_fetch_wait(60.0, 0.1) == 0.1
    assert empty_fetch_wait(float("inf"), 0.1) == 0.1


def test_a_large_share_gives_the_fixed_floor_of_before() -> None:
    assert empty_fetch_wait(0.0, 0.1, share=1e9) == 0.1
