"""Channel specs (declarative, from settings) and building the live channels of each team's routes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from services.responder.domain.oncall import Roster, contact_channel
from services.responder.notify.channel import Channel, RetryPolicy
from services.responder.notify.pagerduty import PagerDutyChannel
from services.responder.notify.simple import AppriseChannel, LogChannel
from services.responder.notify.slack import SlackChannel
from services.responder.notify.webhook import WebhookChannel
from shared.errors import ConfigurationError
from shared.models import Team


class ChannelSpec(BaseModel):
    """One route of a team. ``secret`` names an entry of the settings' ``secrets`` (env, never YAML).

    webhook: ``url`` plus the HMAC key in ``secret``; pagerduty: routing key in ``secret``, ``url``
    overrides the Events v2 endpoint; apprise: the apprise URL(s) (space separated) in ``secret``,
    or in ``url`` when they hold no token; slack: the bot token (``xoxb-``) in ``secret``, the channel
    id in ``channel``, ``url`` overrides the Web API base (``https://slack.com/api``); log: nothing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["webhook", "pagerduty", "apprise", "slack", "log"]
    name: str = ""
    url: str = ""
    secret: str | None = None
    channel: str = Field("", description="slack: the channel id (C0123...) messages go to")
    attempts: int = Field(3, ge=1)
    backoff_s: float = Field(0.5, ge=0)
    timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _slack_needs_channel_and_token(self) -> ChannelSpec:
        if self.type == "slack" and (not self.channel or not self.secret):
            raise ValueError("a slack channel needs 'channel' (the channel id) and 'secret' (the bot token's name)")
        return self

    @property
    def channel_name(self) -> str:
        """The channel's name (its type when unnamed); part of each notification's id."""
        return self.name or self.type


class SecretMissing(ConfigurationError, ValueError):
    """A channel names a secret that the environment does not provide."""


@dataclass(frozen=True, slots=True)
class Route:
    """A live channel of a team and its retry policy."""

    channel: Channel
    retry: RetryPolicy


def _secret(spec: ChannelSpec, secrets: Mapping[str, SecretStr], *, required: bool) -> SecretStr | None:
    if spec.secret is None:
        if required:
            raise SecretMissing(f"channel {spec.channel_name!r} ({spec.type}) needs a secret")
        return None
    found = secrets.get(spec.secret) or secrets.get(spec.secret.lower())
    if found is None:
        raise SecretMissing(
            f"channel {spec.channel_name!r} needs secret {spec.secret!r}: set RESPONDER_SECRETS__{spec.secret.upper()}"
        )
    return found


def build_channel(spec: ChannelSpec, secrets: Mapping[str, SecretStr], client: httpx.AsyncClient) -> Channel:
    """Build the channel a spec describes; raise ``SecretMissing`` if its secret is not set."""
    name = spec.channel_name
    if spec.type == "webhook":
        return WebhookChannel(name, spec.url, _secret(spec, secrets, required=False), client)
    if spec.type == "pagerduty":
        key = _secret(spec, secrets, required=True)
        assert key is not None
        return PagerDutyChannel(name, key, client, spec.url)
    if spec.type == "slack":
        token = _secret(spec, secrets, required=True)
        assert token is not None
        return SlackChannel(name, token, spec.channel, client, spec.url)
    if spec.type == "apprise":
        urls = _secret(spec, secrets, required=False) or SecretStr(spec.url)
        return AppriseChannel(name, urls)
    return LogChannel(name)


def build_routes(
    routes: Mapping[Team, Sequence[ChannelSpec]], secrets: Mapping[str, SecretStr], client: httpx.AsyncClient
) -> dict[Team, dict[str, Route]]:
    """Build every team's channels, keyed by channel name."""
    built: dict[Team, dict[str, Route]] = {}
    for team, specs in routes.items():
        built[team] = {}
        for spec in specs:
            retry = RetryPolicy(attempts=spec.attempts, backoff_s=spec.backoff_s, timeout_s=spec.timeout_s)
            built[team][spec.channel_name] = Route(build_channel(spec, secrets, client), retry)
    return built


def build_contact_routes(
    roster: Roster, secrets: Mapping[str, SecretStr], client: httpx.AsyncClient
) -> dict[str, Route]:
    """Build every person's contact steps as channels named ``oncall:<person>:<index>``."""
    built: dict[str, Route] = {}
    for person in roster.people:
        for index, contact in enumerate(person.contacts):
            name = contact_channel(person.name, index)
            spec = ChannelSpec(
                type=contact.type, name=name, url=contact.url, secret=contact.secret, channel=contact.channel
            )
            retry = RetryPolicy(attempts=spec.attempts, backoff_s=spec.backoff_s, timeout_s=spec.timeout_s)
            built[name] = Route(build_channel(spec, secrets, client), retry)
    return built
