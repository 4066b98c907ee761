"""A scenario injects its fault into a live demo, and says why when the demo cannot take it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from incidentctl.chaos_publish import demo_status
from incidentctl.demo_config import DemoFiles
from incidentctl.scenario import all_probes_up
from shared import models as m
from shared.metric_names import HTTP_UP, PROCESS_UP
from tests.factories import at
from tests.unit.incidentctl.cli_samples import stack_state


def scrape(*samples: tuple[str, float]) -> m.MetricsObserved:
    return m.MetricsObserved(
        target="demo", host="h", observed_at=at(0), interval_s=1.0,
        samples=tuple(m.MetricSample(name=name, value=value) for name, value in samples),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("samples", "up"),
    [
        (((HTTP_UP, 1.0), (HTTP_UP, 1.0), (PROCESS_UP, 1.0)), True),
        (((HTTP_UP, 1.0), (HTTP_UP, 0.0)), False),  # one probe refused: the demo is not answering for sure
        (((PROCESS_UP, 1.0),), False),  # a process that runs but was not probed is not known to answer
        ((), False),
    ],
)
def test_only_a_scrape_whose_every_probe_answered_counts_as_warm(
    samples: tuple[tuple[str, float], ...], up: bool
) -> None:
    assert all_probes_up(scrape(*samples)) is up


def test_the_demos_status_names_its_pid_whether_it_runs_and_the_last_line_it_wrote(tmp_path: Path) -> None:
    state, files = stack_state(tmp_path), DemoFiles.under(tmp_path)
    assert demo_status(state) == "the demo wrote no pidfile; its log's last line: (none); its output's: (none)"
    files.pidfile.parent.mkdir(parents=True)
    files.log_file.parent.mkdir(parents=True)
    files.pidfile.write_text(f"{os.getpid()}\n")
    files.log_file.write_text("")
    assert demo_status(state) == f"demo pid {os.getpid()} runs; its log's last line: (none); its output's: (none)"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    files.pidfile.write_text(gone.stdout)
    files.stdout_file.write_text("Traceback (most recent call last):\nOSError: [Errno 98] address already in use\n")
    assert demo_status(state) == (
        f"demo pid {gone.stdout.strip()} is gone; its log's last line: (none); "
        "its output's: OSError: [Errno 98] address already in use"
    )
