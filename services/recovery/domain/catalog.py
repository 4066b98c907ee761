"""The declared catalog of recovery actions: the only things recovery can ever do.

An event selects an action only by its catalog name and the target it is declared for; every
parameter (argv, pidfile, URL, wait time) comes from configuration. A string carried by an event
can therefore never become a command, a URL or a file path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from shared.errors import ActionError

RESTART_PROCESS: Final = "restart_process"
HTTP_POST: Final = "http_post"
WAIT: Final = "wait"
KINDS: Final = (RESTART_PROCESS, HTTP_POST, WAIT)


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


Action = RestartProcess | HttpPost | Wait


@dataclass(frozen=True)
class Catalog:
    """Declared actions per target, keyed by catalog name (``restart_process``, ``http_post:<name>``, ``wait``)."""

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
        """Index ``actions`` by target and name; a ``wait`` is implied for every target with an action."""
        table: dict[str, dict[str, Action]] = {}
        for action in actions:
            table.setdefault(action.target, {})[action.action] = action
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

    def describe(self, action: Action) -> dict[str, str]:
        """Return display parameters of ``action`` (for events and reports; never read back)."""
        if isinstance(action, RestartProcess):
            return {"process": action.name, "pidfile": action.pidfile}
        if isinstance(action, HttpPost):
            return {"url": action.url}
        return {"seconds": f"{action.seconds:g}"}
