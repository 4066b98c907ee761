"""Settings of the responder's HTTP API, console and Alertmanager ingest (embedded by the core's settings)."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.models import Impact

DEFAULT_SEVERITY_IMPACTS: Final[dict[str, Impact]] = {
    "critical": Impact.SERVICE_DOWN,
    "page": Impact.SERVICE_DOWN,
    "p1": Impact.SERVICE_DOWN,
    "major": Impact.PARTIAL_OUTAGE,
    "error": Impact.PARTIAL_OUTAGE,
    "high": Impact.PARTIAL_OUTAGE,
    "p2": Impact.PARTIAL_OUTAGE,
    "warning": Impact.PARTIAL_OUTAGE,
    "minor": Impact.PARTIAL_FUNCTION,
    "medium": Impact.PARTIAL_FUNCTION,
    "p3": Impact.PARTIAL_FUNCTION,
    "info": Impact.SLIGHT_DEGRADATION,
    "low": Impact.SLIGHT_DEGRADATION,
    "none": Impact.SLIGHT_DEGRADATION,
}


class AlertmanagerMapping(BaseModel):
    """How an Alertmanager alert becomes an anomaly.

    ``target_labels``: the first label present names the anomaly's target (then ``default_target``).
    The impact comes from the ``impact_annotation`` (or label) when it holds an ``Impact`` value,
    else from ``severity_label`` through ``severity_impacts`` (case-insensitive), else ``default_impact``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    target_labels: tuple[str, ...] = ("service", "job", "instance")
    default_target: str = "alertmanager"
    host_label: str = "instance"
    signal_label: str = "alertname"
    severity_label: str = "severity"
    severity_impacts: dict[str, Impact] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY_IMPACTS))
    impact_annotation: str = "impact"
    default_impact: Impact = Impact.PARTIAL_FUNCTION


class ApiSettings(BaseSettings):
    """API, console and ingest settings; env ``RESPONDER_API_<FIELD>`` (e.g. ``RESPONDER_API_TOKEN``).

    The core embeds it as ``api: ApiSettings = Field(default_factory=ApiSettings)``; YAML values under
    ``api:`` and ``RESPONDER_API__<FIELD>`` also work, and the env token is read in every case.
    """

    model_config = SettingsConfigDict(env_prefix="RESPONDER_API_", extra="ignore", env_nested_delimiter="__")

    token: SecretStr | None = Field(None, description="bearer token for reads and mutations; none = mutations refused")
    read_token: SecretStr | None = Field(None, description="bearer token for reads only (RESPONDER_API_READ_TOKEN)")
    open_reads: bool = Field(False, description="serve reads without a token (explicit opt-in)")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="larger request bodies are refused (413) unread")
    auth_max_failures: int = Field(10, ge=1, description="failed authentications per client within the window...")
    auth_window_s: float = Field(60.0, gt=0, description="...before the client is refused (429) for auth_block_s")
    auth_block_s: float = Field(60.0, gt=0, description="how long a client that failed too often is refused")
    console_title: str = "Incident console"
    language: str = "en"
    poll_interval_ms: int = Field(2000, ge=250, description="how often the console refreshes")
    chaos_lookback_s: float = Field(
        600.0, ge=0, description="faults up to this long (and 60 s at most) before the first abnormal sample join"
    )
    response_targets_s: dict[str, float] = Field(
        default_factory=dict,
        description="response target per severity; the responder fills it from its escalation policy",
    )
    max_events_per_anomaly: int = Field(50, ge=2, description="anomaly revisions kept per episode (first and latest)")
    reports_dir: str | None = Field(
        "./reports",
        description="report files are served only from inside it (the rca service's reports_dir); "
        "none = no report is served",
    )
    alertmanager: AlertmanagerMapping = Field(default_factory=AlertmanagerMapping)
    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack app's signing secret (RESPONDER_API_SLACK_SIGNING_SECRET); none = Slack buttons off"
    )
    slack_reply_prefix: str = Field(
        "https://hooks.slack.com/", description="a press's response_url is used only when it starts with this"
    )
    callback_secret: SecretStr | None = Field(
        None, description="HMAC key of chat callback URLs (RESPONDER_API_CALLBACK_SECRET); none = no callbacks"
    )
    public_url: str = Field("", description="the API's address as chat tools reach it, for callback URLs")
    callback_ttl_s: float = Field(86400.0, gt=0, description="how long a notification's callback URLs work")
