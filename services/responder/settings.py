"""Responder settings: env ``RESPONDER_*`` (nested with ``__``), then the YAML file named by ``IR_CONFIG_FILE``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Final, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from services.responder.api.settings import ApiSettings
from services.responder.domain.oncall import Roster
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
from services.responder.domain.stakeholders import StakeholderConfig
from services.responder.domain.windows import MaintenanceWindow
from services.responder.notify.registry import ChannelSpec
from shared.config_file import ConfigError, load_model
from shared.models import Severity, Team
from shared.settings import MAX_RETENTION_S, ServiceSettings
from shared.topics import INCIDENTS


def _log_routes() -> dict[Team, list[ChannelSpec]]:
    return {team: [ChannelSpec(type="log")] for team in Team}


MIN_INCIDENT_RETENTION_S: Final = 3600.0
"""The shortest retention of a resolved incident (and never below ``notify_max_age_s``)."""


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
    incident_retention_s: float = Field(
        INCIDENTS.retention_ms / 1000,
        ge=0,
        le=MAX_RETENTION_S,
        description="a resolved incident is forgotten this long after its resolution, as a restart that rebuilds "
        "from the topics (7 days) forgets it; 0: never",
    )
    api: ApiSettings = Field(default_factory=ApiSettings)
    oncall: Roster = Field(default_factory=Roster, description="people and on-call schedules per team")
    oncall_file: Path | None = Field(None, description="a YAML file holding the oncall section instead")
    maintenance_windows: tuple[MaintenanceWindow, ...] = Field((), description="recurring windows that mute")
    stakeholders: StakeholderConfig = Field(
        default_factory=StakeholderConfig, description="status updates by e-mail to subscribers per service"
    )

    @field_validator("incident_retention_s", mode="after")
    @classmethod
    def _check_incident_retention(cls, value: float, info: ValidationInfo) -> float:
        shortest = max(MIN_INCIDENT_RETENTION_S, info.data.get("notify_max_age_s", 0.0))
        if 0 < value < shortest:
            raise ValueError(
                f"{value:g} s would forget a resolved incident while notices or late revisions may still concern "
                f"it; use 0 (never) or at least {shortest:g}"
            )
        return value

    @field_validator("escalation", mode="after")
    @classmethod
    def _keep_manual_for_unlisted(cls, value: dict[Severity, EscalationPolicy]) -> dict[Severity, EscalationPolicy]:
        """Overriding one severity's policy keeps the manual's policy for the others."""
        return dict(MANUAL_ESCALATION) | value

    @field_validator("secrets", mode="after")
    @classmethod
    def _lower_names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        return {k.lower(): v for k, v in value.items()}

    def roster(self) -> Roster:
        """Return the on-call roster: ``oncall``, or the file ``oncall_file`` names (relative to the config file).

        A bad file raises ``ConfigError`` naming the file, the line and the field.
        """
        if self.oncall_file is None:
            return self.oncall
        if self.oncall.people or self.oncall.schedules:
            raise ConfigError("oncall and oncall_file are both set: keep one")
        path = self.oncall_file
        config = os.environ.get("IR_CONFIG_FILE")
        if not path.is_absolute() and config:
            path = Path(config).parent / path
        return load_model(path, Roster)

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
