"""Two-way chat: Slack signatures, block_actions mapping, the interactions route and signed callbacks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.responder.api import ApiSettings, build_api
from services.responder.api.chat import BadPayload, ChatAction, command_of, ephemeral_reply, slack_actions
from services.responder.api.commands import CommandKind
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from services.responder.notify.callback import CHAT_ACTIONS, CallbackSigner, TokenRejected, check, issue
from services.responder.notify.slack import SignatureRejected, slack_signature, verify_slack
from shared import events as ev
from tests.unit.services.responder.api.builders import at
from tests.unit.services.responder.api.test_routes import Recorder
from tests.unit.services.responder.api.test_routes import projection as projection

RECORDED = Path(__file__).parents[4] / "data" / "slack" / "block_actions_ack.json"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
CALLBACK = "callback-key-for-tests"
NOW = at(100).timestamp()


def recorded(**action: Any) -> dict[str, Any]:
    """The recorded block_actions payload, its first action's fields replaced by ``action``."""
    payload: dict[str, Any] = json.loads(RECORDED.read_text())
    payload["actions"][0].update(action)
    return payload


def form(payload: dict[str, Any]) -> bytes:
    """Slack's interaction body: ``application/x-www-form-urlencoded`` with one field ``payload``."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, *, secret: str = SIGNING, ts: float = NOW) -> dict[str, str]:
    stamp = str(int(ts))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret.encode(), stamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


# --- signature ---------------------------------------------------------------------------------

SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_signature_matches_slacks_documented_example() -> None:
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack_signature(SIGNING.encode(), "1531420618", SLACK_DOC_BODY) == expected
    verify_slack(SecretStr(SIGNING), "1531420618", expected, SLACK_DOC_BODY, now=1531420618 + 10)


@pytest.mark.parametrize(
    ("secret", "stamp", "body", "reason"),
    [
        ("another-secret", NOW, b"payload=%7B%7D", "mismatch"),
        (SIGNING, NOW - 301, b"payload=%7B%7D", "stale"),
        (SIGNING, NOW + 301, b"payload=%7B%7D", "stale"),
        (SIGNING, NOW, b"payload=%7B%22x%22%7D", "mismatch"),  # signed {} , sent {"x"}
    ],
    ids=["wrong-secret", "stale", "future", "tampered-body"],
)
def test_signature_refused(secret: str, stamp: float, body: bytes, reason: str) -> None:
    headers = signed(b"payload=%7B%7D", secret=secret, ts=stamp)
    with pytest.raises(SignatureRejected, match=reason):
        verify_slack(
            SecretStr(SIGNING), headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"], body, now=NOW
        )


def test_signature_within_five_minutes_and_missing_headers() -> None:
    body = b"payload=%7B%7D"
    headers = signed(body, ts=NOW - 299)
    verify_slack(SecretStr(SIGNING), headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"], body, now=NOW)
    for stamp, sig in [(None, "v0=00"), ("1", None), ("soon", "v0=00")]:
        with pytest.raises(SignatureRejected):
            verify_slack(SecretStr(SIGNING), stamp, sig, body, now=NOW)


# --- payload mapping ---------------------------------------------------------------------------


def test_recorded_block_actions_maps_to_an_acknowledge_by_the_slack_user() -> None:
    [action] = slack_actions(form(recorded()))
    assert (action.action, action.incident_id, action.actor) == ("ack", "inc-1", "slack:dana.kim")
    assert command_of(action)[0] is CommandKind.ACK
    assert slack_actions(form(recorded())) == [action]  # the same press, the same request id


@pytest.mark.parametrize(
    ("action_id", "kind", "text"),
    [
        ("incident_ack", CommandKind.ACK, "acknowledged"),
        ("incident_resolve", CommandKind.RESOLVE, "resolved"),
        ("incident_escalate", CommandKind.ESCALATE, "escalated by slack:dana.kim"),
        ("incident_note", CommandKind.NOTE, "note requested by slack:dana.kim"),
    ],
)
def test_each_button_maps_to_its_command(action_id: str, kind: CommandKind, text: str) -> None:
    [action] = slack_actions(form(recorded(action_id=action_id)))
    got_kind, got_text = command_of(action)
    assert got_kind is kind and text in got_text


def test_foreign_actions_other_types_and_bad_bodies() -> None:
    assert slack_actions(form(recorded(action_id="someone_elses_button"))) == []
    assert slack_actions(form(recorded(value=""))) == []
    assert slack_actions(form({"type": "view_submission", "user": {"id": "U1"}})) == []
    for body in [b"", b"payload=not-json", b"other=1", b"payload=%5B%5D", b"\xff\xfe"]:
        with pytest.raises(BadPayload):
            slack_actions(body)
    no_name = recorded()
    no_name["user"] = {"id": "U045VRZFT"}
    assert slack_actions(form(no_name))[0].actor == "slack:U045VRZFT"


# --- the interactions route ----------------------------------------------------------------------


def chat_client(projection: Projection, recorder: Recorder, **settings: Any) -> httpx.AsyncClient:
    settings.setdefault("token", SecretStr("api-token"))
    deps = ApiDeps(
        settings=ApiSettings(**settings),
        projection=projection,
        publish=recorder,
        registry=CollectorRegistry(),
        clock=lambda: at(100),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_api(deps)), base_url="http://api")


ROUTE = "/api/chat/slack/interactions"


async def test_signed_press_publishes_the_command_without_a_bearer_token(projection: Projection) -> None:
    recorder = Recorder()
    async with chat_client(projection, recorder, slack_signing_secret=SecretStr(SIGNING)) as client:
        body = form(recorded())
        answer = await client.post(ROUTE, content=body, headers=signed(body))
        assert answer.status_code == 200
        again = await client.post(ROUTE, content=body, headers=signed(body))  # Slack retried: no second command
        assert again.status_code == 200
    [(event, key)] = recorder.events
    assert isinstance(event, ev.AcknowledgeRequested) and key == "inc-1"
    assert event.data.actor == "slack:dana.kim" and event.data.incident_id == "inc-1"


@pytest.mark.parametrize("case", ["wrong-secret", "stale", "tampered", "unsigned"])
async def test_refused_presses_publish_nothing(projection: Projection, case: str) -> None:
    recorder = Recorder()
    body = form(recorded())
    headers = {
        "wrong-secret": signed(body, secret="not-the-secret"),
        "stale": signed(body, ts=NOW - 600),
        "tampered": signed(form(recorded(action_id="incident_note"))),
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
    }[case]
    async with chat_client(projection, recorder, slack_signing_secret=SecretStr(SIGNING)) as client:
        answer = await client.post(ROUTE, content=body, headers=headers)
    assert answer.status_code == 401 and recorder.events == []
    assert SIGNING not in answer.text


async def test_unconfigured_unknown_incident_and_bad_form(projection: Projection) -> None:
    recorder = Recorder()
    body = form(recorded())
    async with chat_client(projection, recorder) as client:
        answer = await client.post(ROUTE, content=body, headers=signed(body))
        assert answer.status_code == 404 and "RESPONDER_API_SLACK_SIGNING_SECRET" in answer.json()["detail"]
    async with chat_client(projection, recorder, slack_signing_secret=SecretStr(SIGNING)) as client:
        unknown = form(recorded(value="inc-unknown"))
        assert (await client.post(ROUTE, content=unknown, headers=signed(unknown))).status_code == 200
        bad = b"payload=nope"
        assert (await client.post(ROUTE, content=bad, headers=signed(bad))).status_code == 400
        # the exemption is for /api/chat/ only: other mutations still need the bearer token
        assert (await client.post("/api/incidents/inc-1/ack", json={})).status_code == 401
    assert recorder.events == []


# --- signed callbacks ------------------------------------------------------------------------------


def test_callback_tokens_bind_incident_action_and_expiry() -> None:
    key = SecretStr(CALLBACK)
    token = issue(key, "inc-1", "ack", expires=int(NOW) + 60)
    claims = check(key, token, now=NOW)
    assert (claims.incident_id, claims.action) == ("inc-1", "ack")
    with pytest.raises(TokenRejected, match="expired"):
        check(key, token, now=NOW + 61)
    with pytest.raises(TokenRejected, match="signature"):
        check(SecretStr("other"), token, now=NOW)
    claims_part, _, mac = token.partition(".")
    forged = issue(SecretStr("attacker"), "inc-1", "resolve", expires=int(NOW) + 60).partition(".")[0]
    with pytest.raises(TokenRejected):
        check(key, f"{forged}.{mac}", now=NOW)  # another action under the ack token's MAC
    for bad in ["", "abc", "a.b", f"{claims_part}.", f"{claims_part}.{mac}x"]:
        with pytest.raises(TokenRejected):
            check(key, bad, now=NOW)
    with pytest.raises(ValueError):
        issue(key, "inc-1", "delete", expires=1)


def test_signer_gives_one_url_per_action() -> None:
    signer = CallbackSigner(SecretStr(CALLBACK), "https://ir.example/", ttl_s=60)
    urls = signer.urls("inc-1", now=at(100))
    assert sorted(urls) == ["ack", "escalate", "note", "resolve"]
    assert all(u.startswith("https://ir.example/api/chat/callback/") for u in urls.values())
    token = urls["resolve"].rsplit("/", 1)[1]
    assert check(SecretStr(CALLBACK), token, now=NOW).action == "resolve"
    approval = signer.urls("inc-1", now=at(100), approval=True)  # a step awaits approval: those two only
    assert sorted(approval) == ["approve", "deny"] and {*urls, *approval} == set(CHAT_ACTIONS)
    assert check(SecretStr(CALLBACK), approval["deny"].rsplit("/", 1)[1], now=NOW).action == "deny"


async def test_callback_route_performs_the_action(projection: Projection) -> None:
    recorder = Recorder()
    key = SecretStr(CALLBACK)
    ack = issue(key, "inc-1", "ack", expires=int(NOW) + 60)
    note = issue(key, "inc-1", "note", expires=int(NOW) + 60)
    old = issue(key, "inc-1", "resolve", expires=int(NOW) - 1)
    async with chat_client(projection, recorder, callback_secret=key) as client:
        answer = await client.post(f"/api/chat/callback/{ack}", json={"actor": "mattermost:lee"})
        assert answer.status_code == 202 and answer.json()["incident_id"] == "inc-1"
        assert (await client.post(f"/api/chat/callback/{note}", json={})).status_code == 422
        assert (await client.post(f"/api/chat/callback/{note}", json={"text": "db failover"})).status_code == 202
        assert (await client.post(f"/api/chat/callback/{old}")).status_code == 403
        assert (await client.post(f"/api/chat/callback/{ack[:-2]}xx")).status_code == 403
    kinds = [(type(e).__name__, e.data.actor, e.data.text) for e, _ in recorder.events]
    assert kinds == [
        ("AcknowledgeRequested", "chat:mattermost:lee", "acknowledged from chat"),
        ("NoteRequested", "chat:chat", "db failover"),
    ]


async def test_callbacks_off_without_a_secret(projection: Projection) -> None:
    token = issue(SecretStr(CALLBACK), "inc-1", "ack", expires=int(time.time()) + 60)
    async with chat_client(projection, Recorder()) as client:
        assert (await client.post(f"/api/chat/callback/{token}")).status_code == 404


def test_chat_action_is_plain_data() -> None:
    assert command_of(ChatAction("resolve", "inc-1", "slack:x", "r"))[0] is CommandKind.RESOLVE


def test_only_invisible_outcomes_are_confirmed_to_the_presser() -> None:
    [ack] = slack_actions(form(recorded()))
    assert ack.reply_to.startswith("https://hooks.slack.com/actions/")
    assert ephemeral_reply(ack, known=True) is None  # the edited message shows it
    assert "Unknown incident inc-1" in (ephemeral_reply(ack, known=False) or "")
    [esc] = slack_actions(form(recorded(action_id="incident_escalate")))
    assert "Escalation requested" in (ephemeral_reply(esc, known=True) or "")
    [note] = slack_actions(form(recorded(action_id="incident_note")))
    assert "note" in (ephemeral_reply(note, known=True) or "")


async def test_approve_and_deny_from_chat_only_while_a_step_awaits(projection: Projection) -> None:
    from shared import models as m

    recorder = Recorder()
    key = SecretStr(CALLBACK)
    approve = issue(key, "inc-1", "approve", expires=int(NOW) + 60)
    async with chat_client(projection, recorder, callback_secret=key, slack_signing_secret=SecretStr(SIGNING)) as c:
        refused = await c.post(f"/api/chat/callback/{approve}", json={"actor": "lee"})
        assert refused.status_code == 409 and "awaits approval" in refused.json()["detail"]
        pressed = form(recorded(action_id="recovery_deny"))
        assert (await c.post(ROUTE, content=pressed, headers=signed(pressed))).status_code == 200
        assert recorder.events == []  # nothing awaited: neither press published a command
        step = m.RecoveryStep(index=0, action="restart_process", target="api")
        request = m.RecoveryApproval(
            plan_id="plan-1", incident_id="inc-1", target="api", step=step, severity=m.Severity.CRITICAL,
            timeout_s=60, default=m.ApprovalDefault.DENY,
        )  # fmt: skip
        projection.apply(ev.RecoveryApprovalRequested.create(request, source="/t", id_parts=("r",), time=at(3)))
        assert (await c.post(f"/api/chat/callback/{approve}", json={"actor": "lee"})).status_code == 202
        assert (await c.post(ROUTE, content=pressed, headers=signed(pressed))).status_code == 200
    kinds = [(type(e).__name__, e.data.actor) for e, _ in recorder.events]
    assert kinds == [("ApproveRequested", "chat:lee"), ("DenyRequested", "slack:dana.kim")]
    assert ephemeral_reply(ChatAction("approve", "inc-1", "slack:x", "r"), known=True) is not None
