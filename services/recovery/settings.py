"""Recovery service settings: the declared action catalog, verification and the flapping guard."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from shared.models import ApprovalDefault, Severity
from shared.settings import ServiceSettings


class ManagedProcessConfig(BaseModel):
    """A process recovery may restart: how it is started, where its pid and output live."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    target: str = Field("", description="the monitored target this process serves (default: name)")
    command: list[str] = Field(min_length=1, description="argv list; never passed through a shell")
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    pidfile: str
    log_file: str | None = None
    stop_timeout_s: float = Field(5.0, gt=0)


class HttpActionConfig(BaseModel):
    """A declared HTTP POST (for example the demo's /chaos/reset) recovery may call for a target."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    target: str
    url: str
    timeout_s: float = Field(5.0, gt=0)


class ApprovalConfig(BaseModel):
    """A catalog action that waits for a person's approval before it runs (for some severities, or all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severities: list[Severity] | None = Field(
        None, min_length=1, description="the incident severities that need approval (absent: every severity)"
    )
    timeout_s: float = Field(300.0, gt=0, description="how long the step waits for a decision")
    default: ApprovalDefault = Field(description="what happens when nobody decides in time: approve or deny")


class TargetPolicyConfig(BaseModel):
    """Per-target choice of catalog actions per problem (``down``, ``cpu``, ``errors``, ``latency``...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    remedies: dict[str, list[str]] = Field(default_factory=dict)
    external_rules: list[str] = Field(
        default_factory=list,
        description="Alertmanager alert names trusted to trigger an action without the target's own signals",
    )
    wait_s: float = Field(2.0, ge=0)
    approval: dict[str, ApprovalConfig] = Field(
        default_factory=dict, description="catalog action name -> its approval rule (e.g. restart_process)"
    )
    rollback: dict[str, str] = Field(
        default_factory=dict,
        description="catalog action name -> the declared action undoing it, run once when verification fails",
    )


class VerificationConfig(BaseModel):
    """When fresh metrics count as recovered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    healthy_scrapes: int = Field(3, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    error_rate_max: float = 0.01
    cpu_percent_max: float = 90.0
    latency_factor: float = 2.0
    latency_floor_ms: float = 500.0


class CooldownConfig(BaseModel):
    """Circuit breakers: at most ``max_restarts`` restarts and ``max_actions`` actions per target in ``window_s``.

    Beyond them no action runs: the incident escalates with the history of what already ran.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_restarts: int = Field(3, ge=1)
    max_actions: int = Field(6, ge=1)
    window_s: float = Field(3600.0, gt=0)


class BreakerConfig(BaseModel):
    """Circuit breaker per target: ``failures`` failed recoveries within ``window_s`` stop automatic actions.

    After ``cooldown_s`` since the last failure one trial action may run (half-open); a verified
    recovery closes the breaker, a failed trial opens it again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    failures: int = Field(3, ge=1)
    window_s: float = Field(1800.0, gt=0)
    cooldown_s: float = Field(600.0, gt=0)


class RecoverySettings(ServiceSettings):
    """Settings of ``python -m services.recovery`` (env prefix ``RECOVERY_``, or the YAML file)."""

    model_config = SettingsConfigDict(env_prefix="RECOVERY_", extra="ignore", env_nested_delimiter="__")
    service_name: ClassVar[str] = "recovery"

    auto_recover: bool = True
    min_severity: Severity = Severity.MINOR
    max_incident_age_s: float = Field(900.0, gt=0, description="older IncidentOpened events are not acted on")
    escalate_without_plan: bool = True
    group_id: str = "recovery"
    managed_processes: list[ManagedProcessConfig] = Field(default_factory=list)
    http_actions: list[HttpActionConfig] = Field(default_factory=list)
    targets: dict[str, TargetPolicyConfig] = Field(default_factory=dict)
    verification: VerificationConfig = Field(default_factory=VerificationConfig)
    cooldown: CooldownConfig = Field(default_factory=CooldownConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    deadline_check_s: float = Field(1.0, gt=0)
    confirm_max_age_s: float = Field(
        30.0, gt=0, description="an external alert is confirmed only by a scrape of the target this recent"
    )

    @field_validator("targets")
    @classmethod
    def _approvals_and_rollbacks_name_declared_actions(
        cls, targets: dict[str, TargetPolicyConfig], info: ValidationInfo
    ) -> dict[str, TargetPolicyConfig]:
        processes, posts = info.data.get("managed_processes", []), info.data.get("http_actions", [])
        for target, policy in targets.items():
            declared = declared_actions(target, processes, posts)
            named = [("approval", n) for n in policy.approval]
            named += [("rollback", n) for pair in policy.rollback.items() for n in pair]
            for section, name in named:
                if name not in declared:
                    raise ValueError(
                        f"{target}.{section}: {name!r} is not an action declared for {target!r} "
                        f"(declared: {', '.join(sorted(declared))})"
                    )
        return targets


def declared_actions(target: str, processes: list[ManagedProcessConfig], posts: list[HttpActionConfig]) -> set[str]:
    """Catalog names of the actions configured for ``target`` (``wait`` is always declared)."""
    names = {"wait"}
    names |= {"restart_process" for p in processes if (p.target or p.name) == target}
    names |= {f"http_post:{a.name}" for a in posts if a.target == target}
    return names
