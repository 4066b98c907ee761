"""Every ``incidentctl`` error is one line on stderr with what to do next and a documented exit code.

Run as an operator would: a subprocess, its stderr and its exit code (``incidentctl.exits.Exit``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from incidentctl.exits import Exit
from incidentctl.procs import free_port
from shared.topic_admin import ensure_topics
from tests.integration.test_api_console_chromium import READ_TOKEN, served_api
from tests.integration.test_api_responder import TOKEN, broker_settings, incident_story, publish_all

pytestmark = pytest.mark.integration


def cli(*args: str, cwd: Path, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("IR_API_TOKEN", "IR_API_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    if token is not None:
        env["IR_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "incidentctl", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: Exit, *words: str) -> str:
    """Assert the error shape; return the line."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("incidentctl: "), line
    for word in words:
        assert word in line, line
    return line


def stale_stack(root: Path) -> None:
    """What a reboot leaves: state.json naming processes that no longer run (a pid nobody has)."""
    root.mkdir(parents=True)
    port = free_port()
    state = {
        "root": str(root), "kafka": f"127.0.0.1:{free_port()}", "elasticsearch": "http://127.0.0.1:1",
        "api_url": f"http://127.0.0.1:{port}", "demo_url": "http://127.0.0.1:1", "api_token": "t",
        "pids": {"supervisor": 4_000_000, "demo": 4_000_001},
    }  # fmt: skip
    (root / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize("command", [["incidents"], ["status"], ["incident", "inc-1"], ["report", "inc-1"]])
def test_a_stale_stack_after_a_reboot_says_to_run_up(tmp_path: Path, command: list[str]) -> None:
    stale_stack(tmp_path / ".stack")
    one_line_error(cli(*command, cwd=tmp_path), Exit.NO_STACK, "not running", "incidentctl up")


def test_down_on_a_stale_stack_clears_it_and_up_would_start_afresh(tmp_path: Path) -> None:
    stale_stack(tmp_path / ".stack")
    result = cli("down", cwd=tmp_path)
    assert result.returncode == Exit.OK and "stale state is removed" in result.stdout, result
    assert not (tmp_path / ".stack" / "state.json").exists()
    again = cli("down", cwd=tmp_path)
    assert again.returncode == Exit.OK and "nothing to stop" in again.stdout


def test_no_stack_at_all(tmp_path: Path) -> None:
    one_line_error(cli("incidents", cwd=tmp_path), Exit.NO_STACK, "no stack runs", "incidentctl up")


def test_an_api_that_does_not_answer(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    one_line_error(cli("--api", url, "incidents", cwd=tmp_path, token="t"), Exit.UNREACHABLE, url, "incidentctl status")


def test_a_broker_that_does_not_answer(tmp_path: Path) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    result = cli("replay", "--bootstrap", bootstrap, cwd=tmp_path)
    one_line_error(result, Exit.UNREACHABLE, bootstrap, "--bootstrap")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["replay", "no.such.topic"], ("unknown topic 'no.such.topic'", "incidentctl topics")),
        (["replay", "--from", "yesterday"], ("cannot read the time", "-30m")),
        (["replay", "--from", "-10m", "--to", "-30m"], ("empty window",)),
        (["replay", "--from", "-10m", "--into", "a b"], ("--into",)),
        (["replay", "--from", "-10m", "--into", "x.", "--config", "/nonexistent"], ("not a folder", "detector.yaml")),
        (["replay", "--frm", "-10m"], ("unrecognized arguments", "--help")),
        (["replay", "--from", "-10m", "--into", "x.", "--speed", "0"], ("--speed 0.0",)),
    ],
)
def test_usage_errors_come_before_any_connection(tmp_path: Path, args: list[str], words: tuple[str, ...]) -> None:
    one_line_error(cli(*args, "--bootstrap", "127.0.0.1:1", cwd=tmp_path), Exit.USAGE, *words)


async def test_unknown_incident_and_wrong_token_against_a_served_api(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    await publish_all(settings, incident_story("inc-5"))
    async with served_api(settings) as base:

        def run(*args: str, token: str) -> subprocess.CompletedProcess[str]:
            return cli("--api", base, *args, cwd=tmp_path, token=token)

        unknown = await asyncio.to_thread(run, "incident", "inc-nope", token=READ_TOKEN)
        one_line_error(unknown, Exit.NOT_FOUND, "404", "incidentctl incidents")
        unknown_ack = await asyncio.to_thread(run, "ack", "inc-nope", token=TOKEN)
        one_line_error(unknown_ack, Exit.NOT_FOUND, "404")
        wrong = await asyncio.to_thread(run, "incidents", token="wrong-token")
        line = one_line_error(wrong, Exit.AUTH, "401", "IR_API_TOKEN", "state.json")
        assert "wrong-token" not in line  # a secret, even a wrong one, is not echoed
        read_only = await asyncio.to_thread(run, "ack", "inc-5", token=READ_TOKEN)
        one_line_error(read_only, Exit.AUTH, "IR_API_TOKEN")
        fine = await asyncio.to_thread(run, "incident", "inc-5", token=READ_TOKEN)
        assert fine.returncode == Exit.OK and "inc-5" in fine.stdout, fine.stderr


def test_up_on_a_running_stack_says_so_and_starts_nothing_and_down_stops_it(tmp_path: Path) -> None:
    root = (tmp_path / ".stack").resolve()
    stale_stack(root)
    # A stand-in for the stack's supervisor: what `running` checks is its command line.
    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "-m", "incidentctl.supervisor", "--dir", str(root)],
        start_new_session=True,
    )
    try:
        state = json.loads((root / "state.json").read_text())
        state["pids"] = {"supervisor": stand_in.pid}
        (root / "state.json").write_text(json.dumps(state))
        up = cli("up", cwd=tmp_path)
        assert up.returncode == Exit.OK, up.stderr
        assert up.stdout.strip().splitlines() == [
            f"a stack already runs under .stack: console {state['api_url']}/ (stop it with 'incidentctl down')"
        ]
        assert not (root / "data").exists()  # no second broker was started on the first one's data
        down = cli("down", cwd=tmp_path)
        assert down.returncode == Exit.OK and "stopped the stack under .stack" in down.stdout, down
        assert stand_in.wait(timeout=10) is not None
        assert not (root / "state.json").exists()
    finally:
        stand_in.kill()
        stand_in.wait()
