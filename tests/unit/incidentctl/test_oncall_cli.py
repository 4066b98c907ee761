"""``incidentctl oncall``: the one-line rendering of who is on call (text from the API is cleaned)."""

from __future__ import annotations

from incidentctl.__main__ import build_parser
from incidentctl.api_client import format_oncall


def test_who_is_on_call_is_one_clean_line() -> None:
    body = {
        "team": "L2",
        "schedule": "l2-primary",
        "now": {"person": "ann", "source": "weekly\x1b[2J\nnights"},
        "next": {"person": "bob", "source": "weekly", "since": "2026-03-23T08:00:00Z"},
    }
    line = format_oncall(body)
    assert line.startswith("L2 (l2-primary): ann [weekly") and line.endswith("; next bob from 2026-03-23 08:00:00 UTC")
    assert "\x1b" not in line and "\n" not in line


def test_nobody_on_call_says_where_pages_go() -> None:
    body = {"team": "L1", "schedule": "l1", "now": {"person": None, "source": "gap"}, "next": None}
    assert format_oncall(body) == "L1 (l1): nobody (pages go to the team's channels) [gap]"


def test_the_commands_parse() -> None:
    parser = build_parser()
    assert parser.parse_args(["oncall", "L2"]).team == "L2"
    args = parser.parse_args(["schedule", "ics", "l2-primary", "--days", "7"])
    assert (args.schedule_cmd, args.name, args.days) == ("ics", "l2-primary", 7)
