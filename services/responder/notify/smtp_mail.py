"""SMTP sender of stakeholder status updates: stdlib ``smtplib`` in a thread, STARTTLS and login optional.

The password comes from the environment (a named entry of the responder's ``secrets``); it is never
logged, and an error is reported by its type and SMTP code only, so no server text lands in events.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import getaddresses

from pydantic import SecretStr

from services.responder.domain.stakeholders import SmtpSettings
from shared.errors import DeliveryError

Sleep = Callable[[float], Awaitable[None]]


class MailFailed(DeliveryError):
    """The SMTP server did not take the message after ``attempts`` tries."""

    def __init__(self, detail: str, *, attempts: int) -> None:
        super().__init__(detail)
        self.attempts = attempts


def _describe(exc: Exception) -> tuple[str, bool]:
    """Return a short, secret-free description of a send error and whether a retry may help."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"SMTP authentication refused ({exc.smtp_code})", False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"SMTP refused all {len(exc.recipients)} recipient(s)", False
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP error {exc.smtp_code}", exc.smtp_code >= 400 and exc.smtp_code < 500
    return f"SMTP {type(exc).__name__}", True


class SmtpMailer:
    """Send e-mails through one SMTP server, with bounded retries and backoff."""

    def __init__(self, settings: SmtpSettings, password: SecretStr | None = None) -> None:
        self.settings = settings
        self._password = password

    def _send_sync(self, message: EmailMessage) -> str:
        s = self.settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as client:
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.username:
                client.login(s.username, self._password.get_secret_value() if self._password else "")
            refused = client.send_message(message)
        recipients = getaddresses(message.get_all("To", []))
        return f"SMTP {s.host}:{s.port} accepted {len(recipients) - len(refused)} of {len(recipients)} recipient(s)"

    async def send(self, message: EmailMessage, *, sleep: Sleep = asyncio.sleep) -> tuple[int, str]:
        """Send ``message``; return (attempts, detail) or raise ``MailFailed``."""
        s = self.settings
        last = "no attempt"
        for attempt in range(1, s.attempts + 1):
            try:
                return attempt, await asyncio.to_thread(self._send_sync, message)
            except (smtplib.SMTPException, OSError) as exc:
                last, retryable = _describe(exc)
                if not retryable:
                    raise MailFailed(last, attempts=attempt) from None
            if attempt < s.attempts:
                await sleep(min(10.0, s.backoff_s * 2 ** (attempt - 1)))
        raise MailFailed(last, attempts=s.attempts)
