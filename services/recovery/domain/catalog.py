"""The declared catalog of recovery actions: the only things recovery can ever do.

An event selects an action only by its catalog name and the target it is declared for; every
parameter (argv, pidfile, URL, wait time) comes from configuration. A string carried by an event
can therefore never become a command, a URL or a file path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from shared.errors import ActionError

RESTART_PROCESS: Final = "restart_process"
HTTP_POST: Final = "http_post"
WAIT: Final = "wait"
FAILOVER: Final = "failover"
ISOLATE: Final = "isolate"
SUPERVISOR_RESTART: Final = "supervisor_restart"
PROMOTE_STANDBY: Final = "promote_standby"
RESTORE_BACKUP: Final = "restore_backup"
ROLLOUT_RESTART: Final = "rollout_restart"
SCALE: Final = "scale"
ROLLBACK_SUFFIX: Final = ":rollback"
KINDS: Final = (
    RESTART_PROCESS,
    HTTP_POST,
    WAIT,
    FAILOVER,
    ISOLATE,
    SUPERVISOR_RESTART,
    PROMOTE_STANDBY,
    RESTORE_BACKUP,
    ROLLOUT_RESTART,
    SCALE,
)

ServerState = Literal["ready", "drain", "maint"]
"""An HAProxy server's administrative state as the runtime API sets it."""


class RecoveryError(ActionError):
    """Root of the recovery service's errors."""


class ActionNotDeclared(RecoveryError):
    """An action was asked for that the catalog does not declare for that target."""


@dataclass(frozen=True)
class RestartProcess:
    """Restart a managed process: stop the pid in ``pidfile`` if alive, then spawn ``argv`` detached."""

    name: str
    target: str
    argv: tuple[str, ...]
    pidfile: str
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    log_file: str | None = None
    stop_timeout_s: float = 5.0

    @property
    def action(self) -> str:
        """Catalog name of this action."""
        return RESTART_PROCESS


@dataclass(frozen=True)
class HttpPost:
    """POST (empty body) to a declared URL."""

    name: str
    target: str
    url: str
    timeout_s: float = 5.0

    @property
    def action(self) -> str:
        """Catalog name of this action."""
        return f"{HTTP_POST}:{self.name}"


@dataclass(frozen=True)
class Wait:
    """Let the target settle for a declared time."""

    target: str
    seconds: float

    @property
    def action(self) -> str:
        """Catalog name of this action."""
        return WAIT


@dataclass(frozen=True)
class ServerChange:
    """Set server ``backend/server`` of an HAProxy to ``state``."""

    backend: str
    server: str
    state: ServerState


@dataclass(frozen=True)
class Failover:
    """Move an HAProxy backend's traffic from ``primary`` to ``standby`` through the runtime API socket.

    Forward: ``standby`` ready, then ``primary`` to ``primary_state`` (drain or maint). The rollback
    (``rolled_back=True``) is the reverse: ``primary`` ready, then ``standby`` back to ``standby_state``.
    """

    name: str
    target: str
    socket: str
    backend: str
    primary: str
    standby: str
    primary_state: ServerState = "maint"
    standby_state: ServerState = "maint"
    timeout_s: float = 5.0
    rolled_back: bool = False

    @property
    def action(self) -> str:
        """Catalog name of this action (``failover:<name>``, its inverse ``failover:<name>:rollback``)."""
        return f"{FAILOVER}:{self.name}{ROLLBACK_SUFFIX if self.rolled_back else ''}"

    def changes(self) -> tuple[ServerChange, ...]:
        """The server states to set, in order (the server taking traffic first, so one always serves)."""
        if self.rolled_back:
            return (
                ServerChange(self.backend, self.primary, "ready"),
                ServerChange(self.backend, self.standby, self.standby_state),
            )
        return (
            ServerChange(self.backend, self.standby, "ready"),
            ServerChange(self.backend, self.primary, self.primary_state),
        )


@dataclass(frozen=True)
class Isolate:
    """Take HAProxy server ``backend/server`` out of rotation (maint); its rollback puts it back (ready)."""

    name: str
    target: str
    socket: str
    backend: str
    server: str
    timeout_s: float = 5.0
    rolled_back: bool = False

    @property
    def action(self) -> str:
        """Catalog name of this action (``isolate:<name>``, its inverse ``isolate:<name>:rollback``)."""
        return f"{ISOLATE}:{self.name}{ROLLBACK_SUFFIX if self.rolled_back else ''}"

    def changes(self) -> tuple[ServerChange, ...]:
        """The server state to set."""
        return (ServerChange(self.backend, self.server, "ready" if self.rolled_back else "maint"),)


@dataclass(frozen=True)
class SupervisorRestart:
    """Restart program ``program`` of the supervisord listening on the unix socket ``socket`` (XML-RPC)."""

    name: str
    target: str
    socket: str
    program: str
    timeout_s: float = 30.0

    @property
    def action(self) -> str:
        """Catalog name of this action."""
        return f"{SUPERVISOR_RESTART}:{self.name}"


@dataclass(frozen=True)
class PromoteStandby:
    """Promote the PostgreSQL standby reached by the DSN in environment variable ``dsn_env`` (``pg_promote()``)."""

    name: str
    target: str
    dsn_env: str
    timeout_s: float = 60.0

    @property
    def action(self) -> str:
        """Catalog name of this action."""
        return f"{PROMOTE_STANDBY}:{self.name}"


@dataclass(frozen=True)
class RestoreBackup:
    """Restore the newest valid ``pg_dump -Fc`` archive of ``backup_dir`` into the database of ``dsn_env``.

    Each candidate (newest first) is validated with ``pg_restore --list`` before anything is touched (the
    dry run: readable, and holding the rows of every table of ``require_tables``: a dump taken after the
    table was dropped is not a good backup of it); after the restore ``verify_query`` must return a first
    value of at least ``verify_min``, and with ``checksum_table`` every row of that table in the archive
    must be back, byte for byte (rows written since may be there too).
    """

    name: str
    target: str
    dsn_env: str
    backup_dir: str
    verify_query: str
    verify_min: float
    require_tables: tuple[str, ...] = ()
    checksum_table: str = ""
    suffix: str = ".dump"
    pg_restore: str = "pg_restore"
    timeout_s: float = 600.0

    @property
    def action(self) -> str:
        """Catalog name of this action."""
        return f"{RESTORE_BACKUP}:{self.name}"


@dataclass(frozen=True)
class KubeCluster:
    """How to reach a Kubernetes API: ``api_server`` with the token in ``token_env``; in-cluster when empty."""

    api_server: str = ""
    token_env: str | None = None
    ca_file: str | None = None


@dataclass(frozen=True)
class RolloutRestart:
    """``kubectl rollout restart``: stamp the deployment's pod template so its pods are replaced."""

    name: str
    target: str
    namespace: str
    deployment: str
    cluster: KubeCluster = KubeCluster()
    timeout_s: float = 10.0

    @property
    def action(self) -> str:
        """Catalog name of this action."""
        return f"{ROLLOUT_RESTART}:{self.name}"


@dataclass(frozen=True)
class Scale:
    """Set a deployment's replicas to ``replicas``; the rollback (when ``rollback_replicas`` is declared) sets that."""

    name: str
    target: str
    namespace: str
    deployment: str
    replicas: int
    rollback_replicas: int | None = None
    cluster: KubeCluster = KubeCluster()
    timeout_s: float = 10.0
    rolled_back: bool = False

    @property
    def action(self) -> str:
        """Catalog name of this action (``scale:<name>``, its inverse ``scale:<name>:rollback``)."""
        return f"{SCALE}:{self.name}{ROLLBACK_SUFFIX if self.rolled_back else ''}"

    @property
    def wanted(self) -> int:
        """The replica count this action sets."""
        if self.rolled_back and self.rollback_replicas is not None:
            return self.rollback_replicas
        return self.replicas


Action = (
    RestartProcess
    | HttpPost
    | Wait
    | Failover
    | Isolate
    | SupervisorRestart
    | PromoteStandby
    | RestoreBackup
    | RolloutRestart
    | Scale
)


def rollback_of(action: Action) -> Action | None:
    """Return the declared inverse of ``action`` (None when it has none or is itself the inverse)."""
    if isinstance(action, Failover | Isolate) and not action.rolled_back:
        return replace(action, rolled_back=True)
    if isinstance(action, Scale) and not action.rolled_back and action.rollback_replicas is not None:
        return replace(action, rolled_back=True)
    return None


@dataclass(frozen=True)
class Catalog:
    """Declared actions per target, keyed by catalog name (``restart_process``, ``http_post:<name>``, ``wait``...).

    Also ``failover:<name>``, ``isolate:<name>``, ``supervisor_restart:<name>``; inverses ``<kind>:<name>:rollback``.
    """

    actions: Mapping[str, Mapping[str, Action]]
    remedies: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    external_rules: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per target, the external alert rules (Alertmanager ``alertname``) trusted to trigger an action alone."""

    @classmethod
    def build(
        cls,
        actions: Iterable[Action],
        remedies: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
        external_rules: Mapping[str, Iterable[str]] | None = None,
    ) -> Catalog:
        """Index ``actions`` by target and name; a ``wait`` is implied for every target with an action.

        The inverse of an action that has one (`rollback_of`) is declared with it, under its own name.
        """
        table: dict[str, dict[str, Action]] = {}
        for action in actions:
            table.setdefault(action.target, {})[action.action] = action
            inverse = rollback_of(action)
            if inverse is not None:
                table[action.target][inverse.action] = inverse
        for target, declared in table.items():
            declared.setdefault(WAIT, Wait(target, 2.0))
        trusted = {t: frozenset(rules) for t, rules in (external_rules or {}).items()}
        return cls(actions=table, remedies=dict(remedies or {}), external_rules=trusted)

    def declared(self, target: str) -> Mapping[str, Action]:
        """Return the actions declared for ``target`` (empty when none)."""
        return self.actions.get(target, {})

    def resolve(self, action: str, target: str) -> Action:
        """Return the declared action ``action`` for ``target``; raise `ActionNotDeclared` otherwise."""
        found = self.actions.get(target, {}).get(action)
        if found is None:
            raise ActionNotDeclared(f"action {action!r} is not declared for target {target!r}")
        return found

    def rollback_of(self, action: Action) -> Action | None:
        """Return the declared inverse of ``action`` (the same object `resolve` gives by its name), or None."""
        inverse = rollback_of(action)
        return None if inverse is None else self.actions.get(action.target, {}).get(inverse.action)

    def describe(self, action: Action) -> dict[str, str]:
        """Return display parameters of ``action`` (for events and reports; never read back)."""
        if isinstance(action, RestartProcess):
            return {"process": action.name, "pidfile": action.pidfile}
        if isinstance(action, HttpPost):
            return {"url": action.url}
        if isinstance(action, Failover | Isolate):
            return {
                "socket": action.socket,
                "changes": ", ".join(f"{c.backend}/{c.server} {c.state}" for c in action.changes()),
            }
        if isinstance(action, SupervisorRestart):
            return {"socket": action.socket, "program": action.program}
        if isinstance(action, PromoteStandby):
            return {"dsn_env": action.dsn_env}  # the variable's name, never its value
        if isinstance(action, RestoreBackup):
            return {"dsn_env": action.dsn_env, "backup_dir": action.backup_dir, "verify_min": f"{action.verify_min:g}"}
        if isinstance(action, RolloutRestart):
            return {"deployment": f"{action.namespace}/{action.deployment}"}
        if isinstance(action, Scale):
            return {"deployment": f"{action.namespace}/{action.deployment}", "replicas": str(action.wanted)}
        return {"seconds": f"{action.seconds:g}"}
