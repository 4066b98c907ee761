"""Stakeholder status updates: config validation, what is owed (once), the e-mail in English and Korean."""

from __future__ import annotations

import re
import textwrap
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from services.responder.api.status_routes import render_page, status_doc
from services.responder.domain.stakeholders import (
    Mail,
    SmtpSettings,
    StakeholderConfig,
    Subscriber,
    UpdateKind,
    UpdateLog,
    build_email,
    mail_id,
    owed_mails,
)
from services.responder.domain.state import Book, fold_incident_event
from services.responder.notify.smtp_mail import MailFailed, SmtpMailer
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.config_file import ConfigError, load_model
from tests.factories import at
from tests.unit.services.responder.api.builders import incident, transition

README = Path(__file__).resolve().parents[4] / "README.md"
HOSTILE = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"
CONFIG = StakeholderConfig.model_validate(
    {
        "smtp": {"host": "127.0.0.1", "port": 2525, "from": "status@example.org"},
        "subscribers": [
            {"name": "sales", "services": ["demo"], "emails": ["a@example.org"], "language": "en"},
            {
                "name": "kr",
                "services": ["*"],
                "emails": ["b@example.org", "c@example.org"],
                "language": "ko",
                "updates": ["resolved"],
            },
            {"name": "other", "services": ["billing"], "emails": ["d@example.org"]},
        ],
    }
)


def _book_and_log(*events: ev.IncidentEvent) -> tuple[Book, UpdateLog]:
    book, log = Book(), UpdateLog()
    for event in events:
        fold_incident_event(book, event)
        log.observe(event)
    return book, log


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _parts(message: EmailMessage) -> tuple[str, str]:
    parsed = _parsed(message)
    plain, rich = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and rich is not None
    return str(plain.get_content()), str(rich.get_content())  # type: ignore[attr-defined]


def test_opened_and_resolved_are_owed_once_per_subscriber_and_never_again_once_dispatched() -> None:
    inc = incident()
    opened = transition(ev.IncidentOpened, inc, t=0)
    resolved = transition(ev.IncidentResolved, inc.model_copy(update={"status": m.IncidentStatus.RESOLVED}), t=60)
    book, log = _book_and_log(opened, resolved, opened, resolved)  # replayed: no new updates
    owed = owed_mails(log, book.incidents, CONFIG, set(), owns=lambda _i: True, now=at(61), max_age_s=3600)
    assert sorted((m.subscriber.name, m.update.kind) for m in owed) == [
        ("kr", UpdateKind.RESOLVED),
        ("sales", UpdateKind.OPENED),
        ("sales", UpdateKind.RESOLVED),
    ]
    assert owed[0].notification_id == mail_id(owed[0].update.event_id, owed[0].subscriber.name)
    dispatched = {m.notification_id for m in owed}
    assert owed_mails(log, book.incidents, CONFIG, dispatched, owns=lambda _i: True, now=at(61), max_age_s=3600) == []


def test_old_updates_and_mitigations_after_resolution_are_not_sent() -> None:
    inc = incident()
    book, log = _book_and_log(transition(ev.IncidentOpened, inc, t=0))
    assert owed_mails(log, book.incidents, CONFIG, set(), owns=lambda _i: True, now=at(7200), max_age_s=3600) == []
    assert owed_mails(log, book.incidents, CONFIG, set(), owns=lambda _i: False, now=at(1), max_age_s=3600) == []


def test_english_mail_summarises_and_escapes_a_hostile_title_in_html() -> None:
    inc = incident().model_copy(update={"title": HOSTILE, "impacts": (m.Impact.SERVICE_DOWN,)})
    _, log = _book_and_log(transition(ev.IncidentOpened, inc, t=0))
    mail = Mail("stk-1", inc.incident_id, CONFIG.subscribers[0], log.by_incident[inc.incident_id][0])
    message = build_email(inc, mail, m.Team.L1, sender="status@example.org", page_url="http://h:8080", now=at(1))
    parsed = _parsed(message)
    assert parsed["To"] == "a@example.org"
    assert parsed["Subject"].startswith("[Investigating] demo: <script>")
    plain, rich = _parts(message)
    for line in ("Severity: Major", "Impact: service unavailable", "Since: 2026-", "The L1 team has been alerted"):
        assert line in plain
    assert "Status page: http://h:8080/status/demo" in plain
    assert "<script>" not in rich and "<img" not in rich
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;img" in rich


def test_korean_mail_for_a_resolution_goes_to_every_address() -> None:
    inc = incident().model_copy(update={"status": m.IncidentStatus.RESOLVED})
    _, log = _book_and_log(transition(ev.IncidentResolved, inc, t=5, reason="resolved by alice"))
    mail = Mail("stk-2", inc.incident_id, CONFIG.subscribers[1], log.by_incident[inc.incident_id][0])
    message = build_email(inc, mail, m.Team.L2, sender="status@example.org", page_url="", now=at(6))
    parsed = _parsed(message)
    assert parsed["Subject"] == "[해결됨] demo: demo is unhealthy"
    assert parsed["To"] == "b@example.org, c@example.org"
    plain, rich = _parts(message)
    assert "심각도: 중대(Major)" in plain and "인시던트가 해결되었습니다" in plain and "자원 부족" in plain
    assert '<html lang="ko">' in rich and "상태 페이지" not in plain  # no page URL configured: no link


@pytest.mark.parametrize(
    ("subscriber", "error"),
    [
        ({"name": "x", "services": ["demo"], "emails": ["not-an-address"]}, "not an e-mail address"),
        ({"name": "x", "services": [], "emails": ["a@example.org"]}, "at least 1 item"),
        ({"name": "x", "services": [" "], "emails": ["a@example.org"]}, "non-empty name"),
        ({"name": "x", "services": ["demo"], "emails": ["a@example.org"], "updates": ["paged"]}, "opened"),
        ({"name": "x", "services": ["demo"], "emails": ["a@b.org\r\nBcc: evil@x.org"]}, "not an e-mail address"),
    ],
)
def test_bad_subscribers_are_refused(subscriber: dict[str, object], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Subscriber.model_validate(subscriber)


def test_a_status_page_url_must_be_http_and_names_unique() -> None:
    with pytest.raises(ValidationError, match="not an http"):
        StakeholderConfig.model_validate({"status_page_url": "javascript:alert(1)"})
    twice = {"name": "a", "services": ["*"], "emails": ["a@example.org"]}
    with pytest.raises(ValidationError, match="a declared twice"):
        StakeholderConfig.model_validate({"subscribers": [twice, twice]})


def test_a_bad_stakeholders_section_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "stakeholders.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            smtp:
              host: mail.example.org
            subscribers:
              - name: sales
                services: [demo]
                emails: [a@example.org]
              - name: sales
                services: [demo]
                emails:
                  - nobody
            """
        )
    )
    with pytest.raises(ConfigError) as raised:
        load_model(path, StakeholderConfig)
    assert f"{path}:10: subscribers.1.emails: " in str(raised.value)
    assert "not an e-mail address: 'nobody'" in str(raised.value)


def test_the_readme_example_loads_through_the_responder_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = re.search(r"<!-- stakeholders-example -->\n```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert found is not None, "the README lost its stakeholders example"
    path = tmp_path / "responder.yaml"
    path.write_text(found[1], encoding="utf-8")
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    config = ResponderSettings.load().stakeholders
    assert config.smtp.sender == "status@example.org" and config.smtp.starttls and config.smtp.port == 587
    assert [s.name for s in config.subscribers] == ["sales", "seoul-office"]
    assert config.subscribers[1].language == "ko" and UpdateKind.MITIGATED not in config.subscribers[1].updates
    path.write_text(found[1].replace("port: 587", "port: 0"), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(path))}:2: stakeholders.smtp.port: "):
        ResponderSettings.load()


def test_status_page_escapes_titles_and_splits_current_from_recent() -> None:
    from services.responder.api.views import IncidentSummary

    def summary(iid: str, status: m.IncidentStatus, title: str) -> IncidentSummary:
        return IncidentSummary(incident_id=iid, title=title, target="demo", severity=m.Severity.MAJOR,
                               status=status, opened_at=at(0), updated_at=at(5),
                               resolved_at=at(9) if status is m.IncidentStatus.RESOLVED else None)  # fmt: skip

    doc = status_doc("demo", [summary("inc-2", m.IncidentStatus.TRIGGERED, HOSTILE),
                              summary("inc-1", m.IncidentStatus.RESOLVED, "old")])  # fmt: skip
    assert doc["status"] == "disrupted" and [i["incident_id"] for i in doc["recent"]] == ["inc-1"]
    page = render_page(doc, "ko")
    assert "<script>" not in page and "&lt;script&gt;" in page and "조사 중" in page and "해결됨" in page


def _verified(incident_id: str, *, t: float) -> ev.RecoveryVerified:
    data = m.RecoveryProgress(plan_id="plan-1", incident_id=incident_id, target="demo", detail="target healthy")
    return ev.RecoveryVerified.create(data, source="/services/recovery", id_parts=(incident_id, t), time=at(t))


def test_a_verified_recovery_is_a_mitigation_unless_the_incident_was_resolved_first() -> None:
    inc = incident()
    book, log = _book_and_log(transition(ev.IncidentOpened, inc, t=0))
    log.observe(_verified(inc.incident_id, t=30))
    owed = owed_mails(log, book.incidents, CONFIG, set(), owns=lambda _i: True, now=at(31), max_age_s=3600)
    assert [(m.subscriber.name, m.update.kind) for m in owed] == [
        ("sales", UpdateKind.OPENED),
        ("sales", UpdateKind.MITIGATED),
    ]
    message = build_email(inc, owed[1], m.Team.L1, sender="s@example.org", page_url="", now=at(31))
    plain, _ = _parts(message)
    assert "automatic recovery action restored the service" in plain and "Details: target healthy" in plain
    done = inc.model_copy(update={"status": m.IncidentStatus.RESOLVED})
    fold_incident_event(book, transition(ev.IncidentResolved, done, t=20))
    owed = owed_mails(log, book.incidents, CONFIG, set(), owns=lambda _i: True, now=at(31), max_age_s=3600)
    assert UpdateKind.MITIGATED not in {m.update.kind for m in owed}


async def test_an_unreachable_smtp_server_fails_after_its_attempts_without_the_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on (bound, never listening)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        smtp = SmtpSettings.model_validate({"host": "127.0.0.1", "port": port, "attempts": 2, "timeout_s": 2,
                                            "username": "u", "password_secret": "smtp"})  # fmt: skip
        mailer = SmtpMailer(smtp, SecretStr("hunter2-secret"))
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        with pytest.raises(MailFailed) as failed:
            await mailer.send(EmailMessage(), sleep=sleep)
    assert failed.value.attempts == 2 and slept == [0.5]
    assert str(failed.value) == "SMTP ConnectionRefusedError" and "hunter2" not in repr(failed.value)
