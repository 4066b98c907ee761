"""What every notification channel implements, its errors, and bounded retries with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from services.responder.domain.state import NoticeKind
from services.responder.notify.messages import Message
from shared.errors import DeliveryError
from shared.models import Incident, Team

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outbound:
    """A notification ready to go out: identity, what it is about, and the rendered message.

    ``ref``: the message this channel already posted about the incident (recorded as ``ref=`` in an
    earlier outcome's detail; a chat channel edits it instead of posting again), "" when none.
    ``actions``: signed callback URLs per chat action (``ack``, ``escalate``, ``resolve``, ``note``)
    when callbacks are configured (`services.responder.notify.callback`), else empty.
    """

    notification_id: str
    kind: NoticeKind
    team: Team
    incident: Incident
    message: Message
    ref: str = ""
    actions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sent:
    """A channel accepted the notification after ``attempts`` tries."""

    attempts: int
    detail: str


class ChannelError(DeliveryError):
    """A channel could not deliver; ``retryable`` tells whether trying again may help."""

    def __init__(self, detail: str, *, retryable: bool = True) -> None:
        super().__init__(detail)
        self.retryable = retryable


class DeliveryFailed(DeliveryError):
    """A channel gave up on a notification after ``attempts`` tries."""

    def __init__(self, detail: str, *, attempts: int) -> None:
        super().__init__(detail)
        self.attempts = attempts


class Channel(Protocol):
    """A way to reach a team: send once, raising ``ChannelError`` on failure."""

    name: str
    kind: str

    async def send_once(self, outbound: Outbound) -> str:
        """Deliver ``outbound`` once and return a short detail (status code, provider id)."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many tries, and the exponential backoff between them."""

    attempts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 10.0
    timeout_s: float = 10.0


async def deliver(channel: Channel, outbound: Outbound, retry: RetryPolicy, *, sleep: Sleep = asyncio.sleep) -> Sent:
    """Send through ``channel`` with retries (each try bounded by ``timeout_s``); raise ``DeliveryFailed``."""
    last = "no attempt"
    for attempt in range(1, retry.attempts + 1):
        try:
            async with asyncio.timeout(retry.timeout_s):
                detail = await channel.send_once(outbound)
            return Sent(attempt, detail)
        except ChannelError as exc:
            last = str(exc)
            if not exc.retryable:
                raise DeliveryFailed(last, attempts=attempt) from exc
        except TimeoutError:
            last = f"timed out after {retry.timeout_s:g}s"
        if attempt < retry.attempts:
            await sleep(min(retry.max_backoff_s, retry.backoff_s * 2 ** (attempt - 1)))
    raise DeliveryFailed(last, attempts=retry.attempts)
