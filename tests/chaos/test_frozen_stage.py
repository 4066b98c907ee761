"""A frozen stage (SIGSTOP) is noticed by its missing heartbeats: an incident and a page within 60 s;
a frozen responder, which the normal path runs through, is paged to the fallback channel directly."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from incidentctl import resilience as r
from incidentctl import stack

pytestmark = pytest.mark.chaos
LIMIT_S = 60.0


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[stack.StackState, r.Sink]]:
    sink = r.Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    state = stack.start(tmp_path / "stack", log=lambda _m: None, overrides=r.chaos_overrides(sink, r.ChaosPlan()))
    try:
        yield state, sink
    finally:
        for name in ("detector", "responder"):
            pid = stack.pid_of(name, state)
            if pid is not None:
                os.killpg(pid, signal.SIGCONT)
        stack.stop(state, log=lambda _m: None)
        sink.shutdown()


def _within(limit_s: float, found: Callable[[], bool]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if found():
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"nothing within {limit_s:.0f}s")


def test_a_frozen_detector_is_an_incident_and_a_page(running: tuple[stack.StackState, r.Sink]) -> None:
    state, sink = running
    pid = stack.pid_of("detector", state)
    assert pid is not None
    os.killpg(pid, signal.SIGSTOP)

    def paged() -> bool:
        return any(p.body.get("incident", {}).get("target") == "pipeline:detector" for p in sink.of("/pages"))

    took = _within(LIMIT_S, paged)
    page = next(p for p in sink.of("/pages") if p.body.get("incident", {}).get("target") == "pipeline:detector")
    assert "detector stalled: no heartbeat" in page.body["incident"]["title"], page.body
    print(f"frozen detector paged after {took:.1f}s")


def test_a_frozen_responder_reaches_the_fallback_channel(running: tuple[stack.StackState, r.Sink]) -> None:
    state, sink = running
    pid = stack.pid_of("responder", state)
    assert pid is not None
    os.killpg(pid, signal.SIGSTOP)
    took = _within(LIMIT_S, lambda: bool(sink.of("/fallback")))
    page = sink.of("/fallback")[0].body
    assert page["target"] == "pipeline:responder" and "responder stalled" in page["text"], page
    print(f"frozen responder reached the fallback after {took:.1f}s")
