"""Stakeholder status updates reach a real SMTP server (aiosmtpd): opened and resolved, once each, even on replay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from incidentctl.procs import free_port
from services.responder.app import ResponderRuntime, build
from services.responder.notify.registry import SecretMissing
from services.responder.notify.smtp_mail import MailFailed
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.runtime import Service
from shared.topic_admin import ensure_topics
from tests.integration.responder_support import responder_settings, storm_anomaly, topic_events, until, webhook_receiver
from tests.integration.test_responder_core import send_raw

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


class Inbox:
    """What the SMTP server received: (envelope recipients, the raw message)."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.mails.append((list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def settings_with_subscriber(kafka_bootstrap: str, unique: str, port: int, receiver: Any) -> ResponderSettings:
    stakeholders = {
        "smtp": {"host": "127.0.0.1", "port": port, "from": "status@example.org", "attempts": 2, "backoff_s": 0.1},
        "status_page_url": "http://status.example.org",
        "subscribers": [
            {"name": "sales", "services": ["demo"], "emails": ["sales@example.org"]},
            {"name": "billing", "services": ["billing"], "emails": ["billing@example.org"]},
        ],
    }
    return responder_settings(kafka_bootstrap, unique, receiver, escalation={}, stakeholders=stakeholders)


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def resolved(anomaly: ev.AnomalyDetected) -> ev.AnomalyResolved:
    now = datetime.now(UTC)
    data = anomaly.data.model_copy(update={"last_seen": now, "revision": 2})
    return ev.AnomalyResolved.create(data, source="/tests", id_parts=(data.anomaly_id, "resolved"), time=now,
                                     subject=data.target)  # fmt: skip


async def test_opened_and_resolved_incident_mails_its_subscriber_twice_and_a_replay_sends_nothing_more(
    kafka_bootstrap: str, unique: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    with webhook_receiver() as receiver:
        settings = settings_with_subscriber(kafka_bootstrap, unique, port, receiver)
        await ensure_topics(settings)
        producer = Service.create("test-producer", settings)
        await producer.start()
        firing = storm_anomaly(1)
        runtime: ResponderRuntime | None = None
        try:
            runtime = build(settings)
            await runtime.start()
            await send_raw(producer, [firing])
            await until(lambda: len(box.mails) >= 1, what="the 'opened' e-mail")
            await send_raw(producer, [resolved(firing)])  # auto-resolve after 2 s clear
            await until(lambda: len(box.mails) >= 2, what="the 'resolved' e-mail")
            await until(lambda: runtime is not None and runtime.responder.sending == set(), what="sends to finish")
            await runtime.stop()
            runtime = build(settings)  # a restart folds every event again (a replay); redeliver the inputs too
            await runtime.start()
            await send_raw(producer, [firing, resolved(firing)])
            book = runtime.responder.book
            await until(lambda: any(s.resolved_at for s in book.incidents.values()), what="the rebuilt incident")
            ticks = 0

            def ticked() -> bool:
                nonlocal ticks
                ticks += 1
                return ticks > 40  # ~2 s of polling, ~10 clock ticks, for a duplicate to show up if one would

            await until(ticked, what="a few clock ticks")
            await until(lambda: runtime is not None and runtime.responder.sending == set(), what="sends to finish")
        finally:
            if runtime is not None:
                await runtime.stop()
            await producer.stop()

    assert len(box.mails) == 2
    messages = [parsed(raw) for _, raw in box.mails]
    assert [rcpts for rcpts, _ in box.mails] == [["sales@example.org"], ["sales@example.org"]]
    assert messages[0]["Subject"].startswith("[Investigating] demo: ")
    assert messages[1]["Subject"].startswith("[Resolved] demo: ")
    for message in messages:
        assert message["To"] == "sales@example.org" and message["From"] == "status@example.org"
        plain = message.get_body(("plain",))
        assert plain is not None
        text = plain.get_content()  # type: ignore[attr-defined]
        for label in ("Service: demo", "What happened: ", "Severity: ", "Impact: ", "Since: ", "What is being done: "):
            assert label in text, label
        assert "Status page: http://status.example.org/status/demo" in text
    assert "has been alerted and is investigating" in str(messages[0].get_body(("plain",)))
    events = await topic_events(settings)
    delivered = [
        e.data.kind for e in events if isinstance(e, ev.NotificationDelivered) and e.data.channel.startswith("email:")
    ]
    assert sorted(delivered) == ["status:opened", "status:resolved"]
    assert sum(isinstance(e, ev.IncidentOpened) for e in events) == 1
    assert m.Team.L1 in {e.data.team for e in events if isinstance(e, ev.NotificationDispatched)}


PASSWORD = "s3cret-from-the-environment"


def password_check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"incidentctl" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a loopback test server
async def test_the_smtp_password_comes_from_the_environment_and_never_shows_in_errors_or_logs(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=password_check,
                            auth_required=True, auth_require_tls=False)  # fmt: skip
    controller.start()
    smtp = {"host": "127.0.0.1", "port": port, "from": "status@example.org", "username": "incidentctl",
            "password_secret": "smtp_password", "attempts": 1}  # fmt: skip
    stakeholders = {"smtp": smtp, "subscribers": [{"name": "s", "services": ["*"], "emails": ["s@example.org"]}]}
    try:
        with webhook_receiver() as receiver:
            monkeypatch.delenv("RESPONDER_SECRETS__SMTP_PASSWORD", raising=False)
            with pytest.raises(SecretMissing, match="RESPONDER_SECRETS__SMTP_PASSWORD"):
                build(responder_settings(kafka_bootstrap, unique, receiver, stakeholders=stakeholders))
            monkeypatch.setenv("RESPONDER_SECRETS__SMTP_PASSWORD", PASSWORD)
            settings = responder_settings(kafka_bootstrap, unique, receiver, stakeholders=stakeholders)
            assert PASSWORD not in repr(settings) and PASSWORD not in settings.model_dump_json()
            mailer = build(settings).responder.mailer
            wrong = build(
                settings.model_copy(update={"secrets": settings.secrets | {"smtp_password": SecretStr("wrong")}})
            )
            assert mailer is not None and wrong.responder.mailer is not None
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "status@example.org", "s@example.org", "hello"
            message.set_content("body")
            attempts, detail = await mailer.send(message)
            with pytest.raises(MailFailed, match=r"^SMTP authentication refused \(535\)$"):
                await wrong.responder.mailer.send(message)
    finally:
        controller.stop()
    assert attempts == 1 and "accepted 1 of 1" in detail
    assert [rcpts for rcpts, _ in box.mails] == [["s@example.org"]]
    assert parsed(box.mails[0][1])["Subject"] == "hello"
    assert PASSWORD not in caplog.text
