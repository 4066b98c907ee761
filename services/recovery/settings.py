"""Recovery service settings: the declared action catalog, verification and the flapping guard."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.recovery.domain.catalog import (
    Action,
    Failover,
    HttpPost,
    Isolate,
    KubeCluster,
    PromoteStandby,
    RestartProcess,
    RestoreBackup,
    RolloutRestart,
    Scale,
    SupervisorRestart,
    rollback_of,
)
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


_HAPROXY_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PROGRAM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def _absolute_socket(value: str) -> str:
    if not value.startswith("/") or "\x00" in value:
        raise ValueError("must be an absolute path to a unix socket")
    return value


def _haproxy_name(value: str) -> str:
    if not _HAPROXY_NAME.fullmatch(value):
        raise ValueError("must be an HAProxy name: letters, digits and _ . : - only")
    return value


class HaproxyFailoverConfig(BaseModel):
    """Move a backend's traffic from its primary to its standby server (runtime API ``stats socket``, level admin).

    Rollback (``failover:<name>:rollback``): primary ready, standby back to ``standby_state``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    target: str
    socket: str = Field(description="absolute path of HAProxy's stats socket (level admin)")
    backend: str
    primary: str
    standby: str
    primary_state: Literal["drain", "maint"] = "maint"
    standby_state: Literal["drain", "maint"] = Field("maint", description="the standby's state after a rollback")
    timeout_s: float = Field(5.0, gt=0)

    _socket = field_validator("socket")(_absolute_socket)
    _names = field_validator("backend", "primary", "standby")(_haproxy_name)

    @model_validator(mode="after")
    def _two_servers(self) -> Self:
        if self.primary == self.standby:
            raise ValueError("primary and standby must be different servers")
        return self


class HaproxyIsolateConfig(BaseModel):
    """Take one HAProxy server out of rotation (maint); rollback (``isolate:<name>:rollback``) sets it ready."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    target: str
    socket: str = Field(description="absolute path of HAProxy's stats socket (level admin)")
    backend: str
    server: str
    timeout_s: float = Field(5.0, gt=0)

    _socket = field_validator("socket")(_absolute_socket)
    _names = field_validator("backend", "server")(_haproxy_name)


class SupervisorProgramConfig(BaseModel):
    """A program of a supervisord recovery may restart (XML-RPC over its ``unix_http_server`` socket)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    target: str
    socket: str = Field(description="absolute path of supervisord's unix_http_server socket")
    program: str = Field(description="supervisord program name (name or group:name)")
    timeout_s: float = Field(30.0, gt=0)

    _socket = field_validator("socket")(_absolute_socket)

    @field_validator("program")
    @classmethod
    def _program_name(cls, value: str) -> str:
        if not _PROGRAM_NAME.fullmatch(value):
            raise ValueError("must be a supervisord program name: letters, digits and _ . : - only")
        return value


_ENV_NAME = r"^[A-Z_][A-Z0-9_]{0,127}$"


class PostgresPromoteConfig(BaseModel):
    """A PostgreSQL standby recovery may promote (``SELECT pg_promote()``); its DSN is in ``dsn_env``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    target: str
    dsn_env: str = Field(pattern=_ENV_NAME, description="name of the environment variable holding the DSN")
    timeout_s: float = Field(60.0, ge=1)


class PostgresRestoreConfig(BaseModel):
    """Restore the newest valid ``pg_dump -Fc`` archive of ``backup_dir`` into the database of ``dsn_env``.

    Candidates are validated with ``pg_restore --list`` first (and skipped when they lack the rows of a
    table of ``require_tables``); the restore counts only when ``verify_query``'s first value is at
    least ``verify_min``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    target: str
    dsn_env: str = Field(pattern=_ENV_NAME, description="name of the environment variable holding the DSN")
    backup_dir: str
    suffix: str = Field(".dump", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    verify_query: str = Field(min_length=1, description="read-only query; its first value is compared")
    verify_min: float
    require_tables: tuple[str, ...] = Field(
        (), description="tables (name or schema.name) whose rows a candidate archive must hold"
    )
    checksum_table: str = Field(
        "", pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?)?$",
        description="a table whose archived rows must all be back after the restore (compared row by row)",
    )  # fmt: skip
    pg_restore: str = Field("pg_restore", description="pg_restore binary: a bare name (PATH) or an absolute path")
    timeout_s: float = Field(600.0, gt=0)

    @field_validator("backup_dir")
    @classmethod
    def _absolute_dir(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute directory path")
        return value

    @field_validator("pg_restore")
    @classmethod
    def _binary(cls, value: str) -> str:
        if "/" in value and not value.startswith("/"):
            raise ValueError("must be a bare program name or an absolute path")
        return value


_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"


class KubeDeploymentConfig(BaseModel):
    """A Kubernetes deployment and how to reach its API (``api_server`` empty: the in-cluster service account)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    target: str
    namespace: str = Field(pattern=_DNS_LABEL)
    deployment: str = Field(pattern=_DNS_SUBDOMAIN)
    api_server: str = Field("", pattern=r"^(https?://[^\s]+)?$", description="API URL; empty: in-cluster")
    token_env: str | None = Field(None, pattern=_ENV_NAME, description="variable holding the bearer token")
    ca_file: str | None = None
    timeout_s: float = Field(10.0, gt=0)


class RolloutRestartConfig(KubeDeploymentConfig):
    """``kubectl rollout restart deployment/<deployment>`` as a catalog action."""


class ScaleConfig(KubeDeploymentConfig):
    """Scale a deployment to ``replicas``; ``rollback_replicas`` declares its inverse (``scale:<name>:rollback``)."""

    replicas: int = Field(ge=0)
    rollback_replicas: int | None = Field(None, ge=0)


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
    auth_failures_max_per_s: float = Field(0.5, gt=0, description="failed logins a second, at most (security)")
    net_sent_factor: float = Field(2.0, ge=1, description="leak: outbound traffic under this x its baseline")
    net_sent_floor_bytes_per_s: float = Field(2.0**20, ge=0, description="...or under its baseline plus this")


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
    failover_actions: list[HaproxyFailoverConfig] = Field(default_factory=list)
    isolate_actions: list[HaproxyIsolateConfig] = Field(default_factory=list)
    supervisor_actions: list[SupervisorProgramConfig] = Field(default_factory=list)
    promote_actions: list[PostgresPromoteConfig] = Field(default_factory=list)
    restore_actions: list[PostgresRestoreConfig] = Field(default_factory=list)
    rollout_restart_actions: list[RolloutRestartConfig] = Field(default_factory=list)
    scale_actions: list[ScaleConfig] = Field(default_factory=list)
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
        for target, policy in targets.items():
            declared = declared_actions(target, info.data)
            named = [("approval", n) for n in policy.approval]
            named += [("rollback", n) for pair in policy.rollback.items() for n in pair]
            for section, name in named:
                if name not in declared:
                    raise ValueError(
                        f"{target}.{section}: {name!r} is not an action declared for {target!r} "
                        f"(declared: {', '.join(sorted(declared))})"
                    )
        return targets


def declared_actions(target: str, sections: Mapping[str, Any]) -> set[str]:
    """Catalog names of the actions the validated ``sections`` configure for ``target`` (``wait`` always).

    The names come from the actions themselves (`configured_actions`) and their declared inverses,
    so a new action kind is known here as soon as the catalog knows it.
    """
    own = [a for a in configured_actions(sections) if a.target == target]
    inverses = [inverse for a in own if (inverse := rollback_of(a)) is not None]
    return {"wait"} | {a.action for a in (*own, *inverses)}


def configured_actions(sections: Mapping[str, Any]) -> list[Action]:
    """The catalog actions that the configured sections (field name -> validated list) declare, waits aside."""
    actions: list[Action] = [
        RestartProcess(
            name=proc.name, target=proc.target or proc.name, argv=tuple(proc.command), pidfile=proc.pidfile,
            cwd=proc.cwd, env=dict(proc.env), log_file=proc.log_file, stop_timeout_s=proc.stop_timeout_s,
        )
        for proc in sections.get("managed_processes", [])
    ]  # fmt: skip
    actions += [
        HttpPost(name=p.name, target=p.target, url=p.url, timeout_s=p.timeout_s)
        for p in sections.get("http_actions", [])
    ]
    for section, kind in _SIMPLE_KINDS:
        actions += [kind(**config.model_dump()) for config in sections.get(section, [])]
    for kube in (*sections.get("rollout_restart_actions", []), *sections.get("scale_actions", [])):
        fields = kube.model_dump()
        cluster = KubeCluster(fields.pop("api_server"), fields.pop("token_env"), fields.pop("ca_file"))
        actions.append((Scale if "replicas" in fields else RolloutRestart)(cluster=cluster, **fields))
    return actions


_SIMPLE_KINDS: Final[tuple[tuple[str, Any], ...]] = (
    ("failover_actions", Failover),
    ("isolate_actions", Isolate),
    ("supervisor_actions", SupervisorRestart),
    ("promote_actions", PromoteStandby),
    ("restore_actions", RestoreBackup),
)
"""Config sections whose entries are their catalog action's fields, one to one."""
