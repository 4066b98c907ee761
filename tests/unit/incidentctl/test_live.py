from __future__ import annotations

import threading
from pathlib import Path

import pytest

from incidentctl import live
from incidentctl.procs import free_port
from incidentctl.stack import StackState


def test_live_view_returns_once_the_stack_is_stopped_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(live, "REFRESH_S", 0.05)
    state = StackState(
        root=str(tmp_path), kafka="", elasticsearch="", api_url=f"http://127.0.0.1:{free_port()}",
        demo_url="", api_token="",
    )  # fmt: skip
    state.save()
    viewer = threading.Thread(target=live.show_live, args=(state,), daemon=True)
    viewer.start()
    viewer.join(0.3)
    assert viewer.is_alive()  # a silent API alone does not end the view
    (tmp_path / "state.json").unlink()  # what `incidentctl down` does last
    viewer.join(5)
    assert not viewer.is_alive()
    assert "the stack was stopped" in capsys.readouterr().out


def _state(root: Path) -> StackState:
    return StackState(root=str(root), kafka="", elasticsearch="", api_url="http://127.0.0.1:41234",
                      demo_url="", api_token="s3cret-token")  # fmt: skip


def test_the_view_fits_80_columns_and_keeps_the_console_url_and_token_hint(tmp_path: Path) -> None:
    incidents = [
        {"incident_id": f"inc-{i:032x}", "severity": "critical", "status": "triggered",
         "opened_at": "2026-05-01T13:03:04+00:00", "target": "a-very-long-target-name-indeed",
         "title": "http.up = 0: demo is down and this title goes on and on " * 3, "response_target_breached": True}
        for i in range(3)
    ]  # fmt: skip
    for rows, error in ((incidents, ""), (None, "ConnectError: [Errno 111] Connection refused " * 5), ([], "")):
        text = live.render_text(_state(tmp_path), rows, error, width=80)
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= 80, text
        assert "console: http://127.0.0.1:41234/" in text
        assert "token: api_token in" in text and "state.json" in text
        assert "s3cret-token" not in text  # the hint says where the token is, never the token
    table = live.render_text(_state(tmp_path), incidents, width=80)
    header = next(line for line in table.splitlines() if line.startswith("ID"))
    assert header.split() == ["ID", "SEV", "STATUS", "OPENED", "TARGET", "TITLE"]  # no column dropped at 80
    assert "critical!" in table and "13:03:04" in table and "a-very-lo" in table and "http.up" in table


def test_the_view_redraws_in_place_without_clearing_the_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    monkeypatch.setattr(live, "REFRESH_S", 0.05)
    state = _state(tmp_path)
    state.api_url = f"http://127.0.0.1:{free_port()}"
    state.save()
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True)
    viewer = threading.Thread(target=live.show_live, args=(state,), kwargs={"console": console}, daemon=True)
    viewer.start()
    viewer.join(0.5)
    (tmp_path / "state.json").unlink()
    viewer.join(5)
    assert not viewer.is_alive()
    drawn = out.getvalue()
    assert "\x1b[2J" not in drawn  # no clear-screen: the lines above (the token hint) stay
    assert drawn.count("console: ") >= 2  # redrawn (cursor moved up over the previous frame)
