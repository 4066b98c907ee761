"""Slack messages (Block Kit, escaped), the message reference folded back, callback URLs in webhooks."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from services.responder.domain.outbox import Outcome, dispatch_record, outcome_records, owed_notices
from services.responder.domain.state import Book, NoticeKind, fold_notification_event, message_ref
from services.responder.notify.callback import CallbackSigner
from services.responder.notify.channel import Outbound
from services.responder.notify.registry import ChannelSpec, SecretMissing, build_channel
from services.responder.notify.sender import Sender
from services.responder.notify.slack import SlackChannel, blocks, escape, message_body, parse_ref
from services.responder.notify.webhook import webhook_body
from shared import models as m
from tests.unit.services.responder.helpers import Recorder, at
from tests.unit.services.responder.test_notify import outbound, paged_state


def buttons(out: Outbound) -> list[dict[str, Any]]:
    actions = [b for b in blocks(out) if b["type"] == "actions"]
    return actions[0]["elements"] if actions else []


def test_a_page_has_the_four_buttons_carrying_the_incident_id() -> None:
    out = outbound()
    found = buttons(out)
    assert [b["action_id"] for b in found] == ["incident_ack", "incident_escalate", "incident_resolve", "incident_note"]
    assert {b["value"] for b in found} == {out.incident.incident_id}
    assert buttons(outbound(language="ko"))[0]["text"]["text"] == "확인"
    acked = [b["action_id"] for b in buttons(outbound(NoticeKind.ACKNOWLEDGE))]  # escalate/resolve/note stay
    assert acked == ["incident_escalate", "incident_resolve", "incident_note"]
    assert buttons(outbound(NoticeKind.RESOLVE)) == []


def test_event_text_cannot_add_links_mentions_or_markup() -> None:
    out = outbound()
    hostile = out.incident.model_copy(update={"title": "<!channel> <https://evil.example|click> & *bold*"})
    message = replace(out.message, title="<!channel> <https://evil|x>", body="<!here> & <http://a|b>")
    body = message_body(replace(out, incident=hostile, message=message), "C1")
    assert "<!" not in body["text"] and "&lt;!channel&gt;" in body["text"]
    section = body["blocks"][0]["text"]
    assert section["type"] == "plain_text" and section["text"] == "<!here> & <http://a|b>"  # plain text: inert
    evil_link = replace(out.message, console_url="http://c/x|<!channel>")
    context = blocks(replace(out, message=evil_link))[1]["elements"][0]["text"]
    assert "<!channel>" not in context and "%7C" in context
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_the_message_ref_is_folded_from_a_delivery_and_handed_to_the_next_notice() -> None:
    state = paged_state().only()
    notice = owed_notices(state, {m.Team.L1: ["slack"]}, set(), now=at(1), max_age_s=60)[0]
    book = Book()
    fold_notification_event(book, dispatch_record(notice, now=at(1)))
    delivered = outcome_records(
        notice, Outcome(True, 1, "slack chat.postMessage ref=C0INC:1712.0001"), state, now=at(2)
    )
    fold_notification_event(book, delivered[0])  # type: ignore[arg-type]
    assert book.message_refs == {(notice.incident_id, m.Team.L1, "slack"): "C0INC:1712.0001"}
    assert message_ref("HTTP 200") == "" and message_ref("x ref= y") == ""
    assert parse_ref("C0INC:1712.0001") == ("C0INC", "1712.0001") and parse_ref("nope") is None


async def test_the_sender_passes_the_ref_and_signed_actions_to_the_channel() -> None:
    state = paged_state().only()
    notice = owed_notices(state, {m.Team.L1: ["rec"]}, set(), now=at(1), max_age_s=60)[0]
    seen: list[Outbound] = []

    class Keeping(Recorder):
        async def send_once(self, outbound: Outbound) -> str:
            seen.append(outbound)
            return "ok"

    from services.responder.notify.channel import RetryPolicy
    from services.responder.notify.registry import Route

    signer = CallbackSigner(SecretStr("k"), "https://ir.example")
    sender = Sender({m.Team.L1: {"rec": Route(Keeping("rec"), RetryPolicy())}}, callbacks=signer)
    assert (await sender.send(notice, state.incident, ref="C1:2")).delivered
    assert seen[0].ref == "C1:2" and set(seen[0].actions) == {"ack", "escalate", "resolve", "note"}
    doc = json.loads(webhook_body(seen[0]))
    assert doc["actions"]["ack"].startswith("https://ir.example/api/chat/callback/")
    assert "actions" not in json.loads(webhook_body(outbound()))  # no signer, no callback URLs


def test_slack_specs_need_a_channel_and_a_token_from_the_environment() -> None:
    with pytest.raises(ValidationError, match="channel"):
        ChannelSpec(type="slack", secret="slack_bot")
    with pytest.raises(ValidationError, match="secret"):
        ChannelSpec(type="slack", channel="C1")
    spec = ChannelSpec(type="slack", channel="C1", secret="slack_bot", url="http://127.0.0.1:9/api")
    with pytest.raises(SecretMissing, match="RESPONDER_SECRETS__SLACK_BOT"):
        build_channel(spec, {}, client=None)  # type: ignore[arg-type]
    channel = build_channel(spec, {"slack_bot": SecretStr("xoxb-1")}, client=None)  # type: ignore[arg-type]
    assert isinstance(channel, SlackChannel) and channel.api_url == "http://127.0.0.1:9/api"
    assert "xoxb" not in repr(spec) and channel.channel == "C1"


def test_an_on_call_person_can_be_reached_on_slack() -> None:
    from services.responder.domain.oncall import Contact, Person, Roster
    from services.responder.notify.registry import build_contact_routes

    with pytest.raises(ValidationError, match="channel"):
        Contact(type="slack", secret="slack_bot")
    contact = Contact(type="slack", channel="U045VRZFT", secret="slack_bot")
    roster = Roster(people=(Person(name="ann", contacts=(contact,)),))
    routes = build_contact_routes(roster, {"slack_bot": SecretStr("xoxb-1")}, client=None)  # type: ignore[arg-type]
    [route] = routes.values()
    assert isinstance(route.channel, SlackChannel) and route.channel.channel == "U045VRZFT"
