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
