"""The live incident list ``incidentctl up`` shows until Ctrl-C."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from incidentctl.stack import StackState

REFRESH_S = 2.0


def show_live(state: StackState) -> None:
    """Redraw the incident table every few seconds; return once the stack is stopped elsewhere."""
    from incidentctl import api_client

    while True:
        if not (state.path / "state.json").exists():
            print("\nthe stack was stopped (incidentctl down)")
            return
        try:
            table = api_client.format_incident_table(api_client.list_incidents(state.api_url, token=state.api_token))
        except httpx.HTTPError as exc:
            table = f"(API not answering: {exc})"
        print("\x1b[2J\x1b[H", end="")
        print(f"incidentctl — live incidents   console {state.api_url}/   (Ctrl-C stops the stack)\n")
        print(table or "no incidents yet — try: incidentctl chaos cpu-hog")
        time.sleep(REFRESH_S)
