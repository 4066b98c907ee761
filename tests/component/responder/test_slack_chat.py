"""Two-way Slack: a page posts to a local Web API stand-in, a signed press acknowledges, the message is edited.

The stand-in is a real HTTP server on 127.0.0.1 (``http.server``) answering ``chat.postMessage`` and
``chat.update`` as Slack documents them and recording every call; the button press is the recorded
``block_actions`` payload (tests/data/slack) with the posted message's ids, form-encoded and signed
with Slack's v0 scheme, sent to the API's interactions route, whose publisher feeds the command
into the responder's commands topic on the in-memory Kafka.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.responder.api import ApiSettings, build_api
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from services.responder.domain.state import NoticeKind
from services.responder.notify.channel import DeliveryFailed, Outbound, RetryPolicy, deliver
from services.responder.notify.messages import render
from services.responder.notify.slack import SlackChannel, slack_signature
from shared import events as ev
from shared import models as m
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS, NOTIFICATIONS
from tests.component.harness import BusHarness
from tests.component.responder.test_notifications import responder, restart
from tests.unit.services.responder.helpers import Sim, anomaly, at, command

pytestmark = pytest.mark.component

BOT_TOKEN = "xoxb-test-bot-token"
SIGNING = "slack-signing-secret-for-tests"
RECORDED = Path(__file__).parents[2] / "data" / "slack" / "block_actions_ack.json"


class SlackStandIn:
    """A local HTTP server answering Slack's ``chat.postMessage`` / ``chat.update`` and recording each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.auth: list[str] = []
        self.posted: set[tuple[str, str]] = set()
        self.statuses: list[int] = []  # HTTP statuses to answer first (e.g. 429), one per call
        self.replies: list[dict[str, Any]] = []  # what came to a response_url (/actions/...)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                if self.path.startswith("/actions/"):
                    stand_in.replies.append(body)
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
                stand_in.auth.append(self.headers.get("Authorization", ""))
                stand_in.calls.append((method, body))
                answer = stand_in.answer(method, body, self.headers.get("Authorization", ""))
                status = stand_in.statuses.pop(0) if stand_in.statuses else 200
                if status != 200:
                    answer = {"ok": False, "error": "ratelimited"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        self.hooks = f"http://127.0.0.1:{self.server.server_address[1]}/actions/"

    def answer(self, method: str, body: dict[str, Any], auth: str) -> dict[str, Any]:
        if auth != f"Bearer {BOT_TOKEN}":
            return {"ok": False, "error": "invalid_auth"}
        if method == "chat.postMessage":
            ts = f"1712345678.{len(self.calls):06d}"
            self.posted.add((body["channel"], ts))
            return {"ok": True, "channel": body["channel"], "ts": ts, "message": {"text": body["text"]}}
        if method == "chat.update":
            if (body["channel"], body["ts"]) not in self.posted:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body["text"]}
        return {"ok": False, "error": "unknown_method"}

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


@pytest.fixture
def slack_api() -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn()
    thread = threading.Thread(target=stand_in.server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()
    thread.join()


def press(
    action_id: str,
    posted: dict[str, Any],
    ts: str,
    *,
    secret: str = SIGNING,
    now: float | None = None,
    reply_to: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The recorded block_actions payload for a press on the posted message, form-encoded and signed."""
    payload: dict[str, Any] = json.loads(RECORDED.read_text())
    button = next(b for b in posted["blocks"][-1]["elements"] if b["action_id"] == action_id)
    payload["actions"][0].update(action_id=action_id, value=button["value"], block_id=posted["blocks"][-1]["block_id"])
    payload["container"].update(message_ts=ts, channel_id=posted["channel"])
    payload["trigger_id"] = f"trigger-{action_id}"
    if reply_to is not None:
        payload["response_url"] = reply_to
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(at(1).timestamp() if now is None else now))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret.encode(), stamp, body),
    }
    return body, headers


async def test_page_button_ack_and_resolve_edit_the_same_slack_message(
    harness: BusHarness, slack_api: SlackStandIn
) -> None:
    async with httpx.AsyncClient(timeout=5.0) as http:
        slack = SlackChannel("slack", SecretStr(BOT_TOKEN), "C0INCIDENTS", http, api_url=slack_api.url)
        core = await responder(harness, {m.Team.L1: {"slack": slack}})
        await harness.feed(ANOMALIES, anomaly("api", impact=m.Impact.SERVICE_DOWN))
        await core.tick()
        await core.drain()
        assert slack_api.methods() == ["chat.postMessage"]
        posted = slack_api.calls[0][1]
        assert posted["channel"] == "C0INCIDENTS" and slack_api.auth == [f"Bearer {BOT_TOKEN}"]
        [iid] = core.book.incidents
        [delivered] = [e for e in harness.published(NOTIFICATIONS) if isinstance(e, ev.NotificationDelivered)]
        ts = "1712345678.000001"
        assert delivered.data.detail == f"slack chat.postMessage ref=C0INCIDENTS:{ts}"

        async def to_commands(event: ev.Event, key: str) -> bool:
            await harness.feed(COMMANDS, event, key=key)
            return True

        projection = Projection()
        for event in harness.published(INCIDENTS):
            projection.apply(event)
        deps = ApiDeps(
            settings=ApiSettings(slack_signing_secret=SecretStr(SIGNING), slack_reply_prefix=slack_api.hooks + "T9/"),
            projection=projection,
            publish=to_commands,
            registry=CollectorRegistry(),
            clock=lambda: at(1),
        )
        transport = httpx.ASGITransport(app=build_api(deps))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            forged, forged_headers = press("incident_resolve", posted, ts, secret="not-the-signing-secret")
            assert (
                await api.post("/api/chat/slack/interactions", content=forged, headers=forged_headers)
            ).status_code == 401
            body, headers = press("incident_ack", posted, ts, reply_to=slack_api.hooks + "T9/1/ack")
            answer = await api.post("/api/chat/slack/interactions", content=body, headers=headers)
            assert answer.status_code == 200
            await core.drain()
            assert core.book.incidents[iid].incident.status is m.IncidentStatus.ACKNOWLEDGED
            assert slack_api.methods() == ["chat.postMessage", "chat.update"]
            update = slack_api.calls[1][1]
            assert (update["channel"], update["ts"]) == ("C0INCIDENTS", ts)
            assert update["text"].startswith("[ACKNOWLEDGED]")
            still = [b["action_id"] for b in update["blocks"][-1]["elements"]]
            assert still == ["incident_escalate", "incident_resolve", "incident_note"]
            acked = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentAcknowledged)]
            assert len(acked) == 1

            body, headers = press("incident_escalate", posted, ts, reply_to=slack_api.hooks + "T9/2/esc")
            assert (await api.post("/api/chat/slack/interactions", content=body, headers=headers)).status_code == 200
            outside, outside_headers = press("incident_note", posted, ts, reply_to=slack_api.hooks + "EVIL/x")
            assert (
                await api.post("/api/chat/slack/interactions", content=outside, headers=outside_headers)
            ).status_code == 200
            await core.drain()
            escalated = [e for e in harness.published(INCIDENTS) if isinstance(e, ev.IncidentEscalated)]
            assert any("slack:dana.kim" in e.data.reason for e in escalated), [e.data.reason for e in escalated]
            # only the escalate press is confirmed to the presser: ack shows as the edited message, and
            # a response_url outside the configured Slack prefix is never called
            assert [r["response_type"] for r in slack_api.replies] == ["ephemeral"]
            assert "Escalation requested" in slack_api.replies[0]["text"]
            body, headers = press("incident_resolve", posted, ts)
            assert (await api.post("/api/chat/slack/interactions", content=body, headers=headers)).status_code == 200
            await core.drain()
        assert core.book.incidents[iid].incident.status is m.IncidentStatus.RESOLVED
        assert slack_api.methods() == ["chat.postMessage", "chat.update", "chat.update"]
        resolved = slack_api.calls[2][1]
        assert resolved["ts"] == ts and resolved["text"].startswith("[RESOLVED]")
        assert not [b for b in resolved["blocks"] if b["type"] == "actions"]  # no buttons once resolved
        commands = [e for e in harness.log[COMMANDS.name]]
        assert len(commands) == 4  # ack, escalate (a note), note, resolve
        actors = {json.loads(e.record.value or b"{}")["data"]["actor"] for e in commands}
        assert actors == {"slack:dana.kim"}


async def test_a_restarted_responder_still_edits_the_message_it_posted(
    harness: BusHarness, slack_api: SlackStandIn
) -> None:
    async with httpx.AsyncClient(timeout=5.0) as http:
        channels = {
            m.Team.L1: {"slack": SlackChannel("slack", SecretStr(BOT_TOKEN), "C0INCIDENTS", http, slack_api.url)}
        }
        core = await responder(harness, channels)
        await harness.feed(ANOMALIES, anomaly("api", impact=m.Impact.SERVICE_DOWN))
        await core.tick()
        await core.drain()
        [iid] = core.book.incidents
        again = await restart(harness, core, channels)  # the ref comes back from responder.notifications.v1
        await harness.feed(COMMANDS, command(ev.AcknowledgeRequested, iid, t=1))
        await again.drain()
    assert slack_api.methods() == ["chat.postMessage", "chat.update"]
    assert slack_api.calls[1][1]["ts"] == "1712345678.000001"


def outbound() -> Outbound:
    sim = Sim()
    sim.anomaly(anomaly("api", impact=m.Impact.SERVICE_DOWN), t=0)
    sim.tick(0)
    inc = sim.only().incident
    message = render(inc, NoticeKind.PAGE, m.Team.L1, "why", language="en", console_url="http://c", runbook_template="")
    return Outbound("ntf-1", NoticeKind.PAGE, m.Team.L1, inc, message)


async def test_web_api_errors_rate_limits_and_a_deleted_message(slack_api: SlackStandIn) -> None:
    page = outbound()
    async with httpx.AsyncClient(timeout=5.0) as http:
        wrong = SlackChannel("slack", SecretStr("xoxb-revoked"), "C0INCIDENTS", http, slack_api.url)
        with pytest.raises(DeliveryFailed, match="invalid_auth") as failed:
            await deliver(wrong, page, RetryPolicy(attempts=3, backoff_s=0))
        assert failed.value.attempts == 1  # a retry cannot fix a bad token
        slack = SlackChannel("slack", SecretStr(BOT_TOKEN), "C0INCIDENTS", http, slack_api.url)
        slack_api.statuses = [429]
        sent = await deliver(slack, page, RetryPolicy(attempts=3, backoff_s=0))
        assert sent.attempts == 2 and sent.detail.startswith("slack chat.postMessage ref=C0INCIDENTS:")
        gone = replace(page, kind=NoticeKind.ACKNOWLEDGE, ref="C0INCIDENTS:999.000001")  # deleted in Slack
        detail = await slack.send_once(gone)
    assert slack_api.methods()[-2:] == ["chat.update", "chat.postMessage"]
    assert detail == f"slack chat.postMessage ref=C0INCIDENTS:1712345678.{len(slack_api.calls):06d}"
    assert BOT_TOKEN not in detail
