"""Generated records through the edge: each is admitted as a valid event or refused with a reason, never a crash.

Runs derandomized with a fixed number of examples (the ``ci`` Hypothesis profile, see tests/conftest.py);
``bench/fuzz_edge.py`` runs the same generators for as long as asked.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from pydantic import BaseModel

from shared import events as ev
from shared.edge import Admitted, Refused, admit
from tests.fuzz_records import CONSUMED, NOW, record_times, records

SKEW = timedelta(minutes=5)


def assert_contract_holds(event: ev.Envelope[object]) -> None:
    """What an admitted event guarantees downstream: UTC times, finite numbers, a stable encoding."""
    assert ev.parse_event(ev.encode_event(event)) == event
    stack: list[object] = [event]
    while stack:
        value = stack.pop()
        if isinstance(value, BaseModel):
            stack += [getattr(value, f) for f in type(value).model_fields]
        elif isinstance(value, tuple | list):
            stack += list(value)
        elif isinstance(value, dict):
            stack += list(value.values())
        elif isinstance(value, float):
            assert math.isfinite(value)
        elif hasattr(value, "utcoffset") and hasattr(value, "hour"):
            assert value.utcoffset() == timedelta(0)  # type: ignore[union-attr]


@pytest.mark.parametrize("topic", CONSUMED, ids=lambda t: t.name)
def test_every_record_is_admitted_or_refused_with_a_reason(topic: object) -> None:
    @given(raw=records(topic), record_time_ms=record_times())  # type: ignore[arg-type]
    def check(raw: bytes, record_time_ms: int | None) -> None:
        verdict = admit(raw, record_time_ms, allowed=topic.events, now=NOW, max_skew=SKEW)  # type: ignore[attr-defined]
        if isinstance(verdict, Admitted):
            assert isinstance(verdict.event, topic.events)  # type: ignore[attr-defined]
            assert_contract_holds(verdict.event)
        else:
            assert isinstance(verdict, Refused) and verdict.reason.strip()

    check()
