"""The live incident view ``incidentctl up`` shows until Ctrl-C: redrawn in place (rich), 80 columns wide."""

from __future__ import annotations

import io
import os
import time
from typing import TYPE_CHECKING, Any, Final

import httpx
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from incidentctl.exits import heads, say
from shared.text import clean_line

if TYPE_CHECKING:
    from incidentctl.stack import StackState

REFRESH_S = 2.0
SEVERITY_STYLE = {"critical": "bold red", "major": "yellow", "minor": "cyan"}


def _state_file(state: StackState) -> str:
    """``state.json`` of the stack, relative to here when it is below (short enough for one line)."""
    path = os.path.join(state.root, "state.json")
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


def token_hint(state: StackState, lang: str | None = None) -> str:
    """Where the console's token is (never the token itself: the screen may be shared)."""
    return say("live_token", lang, path=_state_file(state))


COLUMNS: Final = (("ID", 16), ("SEV", 9), ("STATUS", 12), ("OPENED", 8), ("TARGET", 10))
"""Fixed columns (the title takes the rest of the line): 80 columns leave the title 15. The names are
the English headings; the shown ones come from ``live_cols`` in the CLI's language (as wide in cells or
narrower: rich measures Hangul as two cells)."""
GAP: Final = 2
MIN_TITLE: Final = 10


def render(
    state: StackState,
    incidents: list[dict[str, Any]] | None,
    error: str = "",
    *,
    width: int = 80,
    lang: str | None = None,
) -> RenderableType:
    """The whole view: title, console URL and token hint (always), then the incidents or what went wrong."""
    header = Text.assemble(
        (say("live_title", lang), "bold"), say("live_ctrl_c", lang) + "\n",
        say("live_console", lang), (f"{state.api_url}/", "underline"), "\n",
        token_hint(state, lang),
    )  # fmt: skip
    if error:
        body: RenderableType = Text(say("live_api_down", lang, error=clean_line(error, limit=200)), style="red")
    elif not incidents:
        body = Text(say("live_empty", lang))
    else:
        fixed = sum(w for _, w in COLUMNS) + GAP * len(COLUMNS)
        table = Table(box=None, pad_edge=False, header_style="bold", expand=False, padding=(0, GAP // 2))
        *names, title = heads("live_cols", lang)
        for name, (_, column_width) in zip(names, COLUMNS, strict=True):
            table.add_column(name, no_wrap=True, overflow="ellipsis", width=column_width)
        table.add_column(title, no_wrap=True, overflow="ellipsis", width=max(MIN_TITLE, width - fixed))
        for i in incidents:
            severity = clean_line(i.get("severity", ""))
            mark = "!" if i.get("response_target_breached") else ""
            table.add_row(
                clean_line(i.get("incident_id", "")),
                Text(severity + mark, style=SEVERITY_STYLE.get(severity, "")),
                clean_line(i.get("status", "")),
                clean_line(i.get("opened_at") or "-")[11:19],
                clean_line(i.get("target", "")),
                clean_line(i.get("title", ""), limit=200),
            )
        body = table
    return Group(header, Text(""), body)


def render_text(
    state: StackState,
    incidents: list[dict[str, Any]] | None,
    error: str = "",
    *,
    width: int = 80,
    lang: str | None = None,
) -> str:
    """The view as plain text at ``width`` columns (what a terminal of that width shows)."""
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(
        render(state, incidents, error, width=width, lang=lang)
    )
    return out.getvalue()


def _fetch(state: StackState) -> tuple[list[dict[str, Any]] | None, str]:
    from incidentctl import api_client

    try:
        return api_client.list_incidents(state.api_url, token=state.api_token), ""
    except (httpx.HTTPError, api_client.ApiError) as exc:
        return None, str(exc) or type(exc).__name__


def show_live(state: StackState, *, console: Console | None = None) -> None:
    """Redraw the view in place every few seconds; return once the stack is stopped elsewhere."""
    console = console or Console()
    with Live(render(state, None, width=console.width), console=console, auto_refresh=False, transient=False) as live:
        while True:
            if not (state.path / "state.json").exists():
                break
            incidents, error = _fetch(state)
            live.update(render(state, incidents, error, width=console.width), refresh=True)
            time.sleep(REFRESH_S)
    console.print(say("live_stopped"))
