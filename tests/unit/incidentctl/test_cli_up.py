"""``incidentctl up`` over what a reboot left: the stale state goes, a new stack starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentctl.stack import StackState


def _state(root: Path) -> StackState:
    return StackState(root=str(root), kafka="", elasticsearch="", api_url="http://127.0.0.1:41234",
                      demo_url="", api_token="t")  # fmt: skip


def test_up_over_a_stale_stack_clears_its_state_and_starts_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from incidentctl import stack
    from incidentctl.__main__ import main

    stale = _state(tmp_path)
    stale.pids = {"supervisor": 4_000_000}  # gone since the reboot
    stale.save()
    started: list[bool] = []

    def fake_start(root: Path, *, estate: bool = False) -> StackState:
        started.append((root / "state.json").exists())
        return _state(tmp_path)

    monkeypatch.setattr(stack, "start", fake_start)
    assert main(["--dir", str(tmp_path), "up", "--detach"]) == 0
    assert started == [False]  # the stale state.json was gone before the new stack started
    out = capsys.readouterr().out
    assert "stale state" in out and "console: http://127.0.0.1:41234/" in out
