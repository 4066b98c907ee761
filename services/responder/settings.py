"""Responder settings: env ``RESPONDER_*`` (nested with ``__``), then the YAML file named by ``IR_CONFIG_FILE``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.responder.api.settings import ApiSettings
from services.responder.domain.policy import (
    MANUAL_ESCALATION,
    MANUAL_INHIBIT_RULES,
    MANUAL_SEVERITY_RULES,
    EscalationPolicy,
    GroupingPolicy,
    InhibitRule,
    ResponsePolicy,
    SeverityRule,
)
from services.responder.notify.registry import ChannelSpec
from shared.models import Severity, Team
from shared.settings import ServiceSettings


def _log_routes() -> dict[Team, list[ChannelSpec]]:
    return {team: [ChannelSpec(type="log")] for team in Team}


class ResponderSettings(ServiceSettings):
    """Grouping, severity, inhibition, escalation and notification routes; defaults follow the manual.

    Secrets (webhook HMAC keys, PagerDuty routing keys, apprise URLs with tokens) come only from
    the environment: ``RESPONDER_SECRETS__<NAME>=...``; channel specs name them in ``secret``.
    """

    model_config = SettingsConfigDict(env_prefix="RESPONDER_", extra="ignore", env_nested_delimiter="__")
    service_name: ClassVar[str] = "responder"

    group_id: str = Field("responder", description="consumer group of the anomaly/command/recovery consumers")
    grouping: GroupingPolicy = Field(default_factory=GroupingPolicy)
    auto_resolve_after_s: float = Field(300.0, ge=0, description="every signal clear this long → auto-resolve")
    severity_rules: tuple[SeverityRule, ...] = MANUAL_SEVERITY_RULES
    default_severity: Severity = Severity.MINOR
    inhibit_rules: tuple[InhibitRule, ...] = MANUAL_INHIBIT_RULES
    escalation: dict[Severity, EscalationPolicy] = Field(default_factory=lambda: dict(MANUAL_ESCALATION))
    routes: dict[Team, list[ChannelSpec]] = Field(default_factory=_log_routes)
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="env only: RESPONDER_SECRETS__<NAME>")
    language: Literal["en", "ko"] = "en"
    console_url: str = "http://127.0.0.1:8080"
    runbook_url: str = Field("https://runbooks.example.org/{service}/{signal}", description="template")
    tick_s: float = Field(1.0, gt=0, description="period of the clock loop (escalation, breach, auto-resolve)")
    notify_max_age_s: float = Field(3600.0, gt=0, description="older triggers are never notified late")
    api: ApiSettings = Field(default_factory=ApiSettings)

    @field_validator("escalation", mode="after")
    @classmethod
    def _keep_manual_for_unlisted(cls, value: dict[Severity, EscalationPolicy]) -> dict[Severity, EscalationPolicy]:
        """Overriding one severity's policy keeps the manual's policy for the others."""
        return dict(MANUAL_ESCALATION) | value

    @field_validator("secrets", mode="after")
    @classmethod
    def _lower_names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        return {k.lower(): v for k, v in value.items()}

    def policy(self) -> ResponsePolicy:
        """Return the pure core's view of these settings."""
        return ResponsePolicy(
            grouping=self.grouping,
            severity_rules=self.severity_rules,
            default_severity=self.default_severity,
            inhibit_rules=self.inhibit_rules,
            escalation=self.escalation,
            auto_resolve_after_s=self.auto_resolve_after_s,
        )
