"""Run declared catalog actions: restart, POST, wait, HAProxy, supervisord, PostgreSQL, Kubernetes.

HAProxy (failover, isolate and their rollbacks) goes through its runtime API socket, supervisord
through XML-RPC on its unix socket, PostgreSQL through psycopg and ``pg_restore``, Kubernetes
through its official client; each executor is behind a Protocol (`ServerControl`,
`ProgramControl`, `Database`, `DeploymentControl`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import psutil
import psycopg
import urllib3
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import OpenApiException

from services.recovery.adapters.haproxy import HaproxyApiError, HaproxyRuntimeApi, ServerControl, apply_changes
from services.recovery.adapters.kube import DeploymentControl, KubeDeployments, rollout_restart, scale
from services.recovery.adapters.postgres import (
    Database,
    LocalPostgres,
    PostgresActionError,
    dsn_from_env,
    promote_standby,
    restore_backup,
)
from services.recovery.adapters.supervisor import ProgramControl, SupervisorRpc, restart_program
from services.recovery.domain.catalog import (
    Action,
    Failover,
    HttpPost,
    Isolate,
    KubeCluster,
    PromoteStandby,
    RecoveryError,
    RestartProcess,
    RestoreBackup,
    RolloutRestart,
    Scale,
    SupervisorRestart,
    Wait,
)
from services.recovery.domain.haproxy_state import ServersStateError
from shared.files import write_private
from shared.procenv import basic_env

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepOutcome:
    """What running one action did."""

    ok: bool
    detail: str


class ActionRunner(Protocol):
    """Runs one declared action (the only way recovery touches the outside world)."""

    async def run(self, action: Action, *, key: str = "") -> StepOutcome:
        """Run ``action`` and report how it went (never raises for an action's own failure).

        ``key`` names the step (its started event's id): the same for every attempt at one step, so
        an endpoint that honours ``Idempotency-Key`` drops a second call of a step run twice.
        """
        ...


def read_pid(pidfile: Path) -> int | None:
    """Return the pid recorded in ``pidfile``, or None."""
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    """Return True if ``pid`` runs and is not a zombie."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def runs_command(pid: int, argv: tuple[str, ...]) -> bool:
    """Return True if ``pid`` runs the declared command (guards against a recycled pid in a stale pidfile)."""
    try:
        cmdline = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    if len(argv) > 1:
        return tuple(cmdline[-(len(argv) - 1) :]) == argv[1:]
    return bool(cmdline) and Path(cmdline[0]).name == Path(argv[0]).name


def haproxy_api(socket_path: str, timeout_s: float) -> ServerControl:
    """The production HAProxy executor: its runtime API socket."""
    return HaproxyRuntimeApi(socket_path, timeout_s=timeout_s)


def supervisor_rpc(socket_path: str, timeout_s: float) -> ProgramControl:
    """The production supervisord executor: XML-RPC over its unix socket."""
    return SupervisorRpc(socket_path, timeout_s=timeout_s)


def local_postgres(dsn: str, pg_restore: str, timeout_s: float) -> Database:
    """The production PostgreSQL executor: psycopg, and ``pg_restore`` as a child."""
    return LocalPostgres(dsn, pg_restore=pg_restore, timeout_s=timeout_s)


def kube_deployments(cluster: KubeCluster, timeout_s: float) -> DeploymentControl:
    """The production Kubernetes executor: the official client's ``AppsV1Api``."""
    return KubeDeployments(cluster, timeout_s=timeout_s)


_ACTION_FAILURES = (
    RecoveryError,
    OpenApiException,
    urllib3.exceptions.HTTPError,
    k8s_config.ConfigException,
    PostgresActionError,
    psycopg.Error,
    OSError,
    httpx.HTTPError,
    psutil.Error,
    HaproxyApiError,
    ServersStateError,
    xmlrpc.client.Error,
    ValueError,
)


class LocalRunner:
    """Runs actions on the local host; children it spawns are reaped so their pids do not linger.

    ``haproxy`` and ``supervisor`` open the executor for a declared socket (and timeout), ``postgres``
    for a DSN (read from the variable the catalog names), the ``pg_restore`` binary and a timeout,
    ``kubernetes`` for a declared cluster and a timeout.
    """

    def __init__(
        self,
        *,
        haproxy: Callable[[str, float], ServerControl] = haproxy_api,
        supervisor: Callable[[str, float], ProgramControl] = supervisor_rpc,
        postgres: Callable[[str, str, float], Database] = local_postgres,
        kubernetes: Callable[[KubeCluster, float], DeploymentControl] = kube_deployments,
    ) -> None:
        self._children: list[subprocess.Popen[bytes]] = []
        self._haproxy, self._supervisor, self._postgres = haproxy, supervisor, postgres
        self._kubernetes = kubernetes

    async def run(self, action: Action, *, key: str = "") -> StepOutcome:
        """Run ``action``; failures become a not-ok outcome with the reason."""
        try:
            if isinstance(action, RestartProcess):
                return await asyncio.to_thread(self._restart, action)
            if isinstance(action, HttpPost):
                return await self._post(action, key)
            if isinstance(action, Wait):
                await asyncio.sleep(action.seconds)
                return StepOutcome(True, f"waited {action.seconds:g}s")
            if isinstance(action, Failover | Isolate):
                ok, detail = await apply_changes(self._haproxy(action.socket, action.timeout_s), action.changes())
                return StepOutcome(ok, f"{action.action}: {detail}")
            if isinstance(action, SupervisorRestart):
                control = self._supervisor(action.socket, action.timeout_s)
                ok, detail = await asyncio.to_thread(restart_program, control, action.program)
                return StepOutcome(ok, detail)
            if isinstance(action, PromoteStandby):
                db = self._postgres(dsn_from_env(action.dsn_env), "pg_restore", action.timeout_s)
                return StepOutcome(*await promote_standby(db, action))
            if isinstance(action, RestoreBackup):
                db = self._postgres(dsn_from_env(action.dsn_env), action.pg_restore, action.timeout_s)
                return StepOutcome(*await restore_backup(db, action))
            if isinstance(action, RolloutRestart):
                deployments = self._kubernetes(action.cluster, action.timeout_s)
                return StepOutcome(True, await asyncio.to_thread(rollout_restart, deployments, action))
            if isinstance(action, Scale):
                deployments = self._kubernetes(action.cluster, action.timeout_s)
                return StepOutcome(*await asyncio.to_thread(scale, deployments, action))
        except _ACTION_FAILURES as exc:
            return StepOutcome(False, f"{type(exc).__name__}: {exc}")
        return StepOutcome(False, f"unknown action {action!r}")

    def close(self) -> None:
        """Forget (and reap) spawned children; they keep running detached."""
        for child in self._children:
            child.poll()
        self._children.clear()

    def _restart(self, action: RestartProcess) -> StepOutcome:
        self._reap()
        pidfile = Path(action.pidfile)
        old = read_pid(pidfile)
        stopped = ""
        if old is not None and is_alive(old):
            if not runs_command(old, action.argv):
                return StepOutcome(False, f"pid {old} in {pidfile} runs something else: not touched")
            stopped = self._stop(old, action.stop_timeout_s)
        out = open(action.log_file, "ab") if action.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            child = subprocess.Popen(  # argv comes from the declared catalog only
                list(action.argv),
                cwd=action.cwd,
                env={**basic_env(os.environ), **action.env},  # never the recovery's own credentials
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        self._children.append(child)
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        write_private(pidfile, f"{child.pid}\n")
        log.info("restarted %s: old pid %s %s, new pid %d", action.name, old, stopped, child.pid)
        return StepOutcome(True, f"restarted {action.name}: old pid {old} {stopped}, new pid {child.pid}".strip())

    def _stop(self, pid: int, timeout_s: float) -> str:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._reap()
            if not is_alive(pid):
                return "(stopped by SIGTERM)"
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and is_alive(pid):
            self._reap()
            time.sleep(0.05)
        return "(killed by SIGKILL)"

    def _reap(self) -> None:
        self._children = [c for c in self._children if c.poll() is None]

    async def _post(self, action: HttpPost, key: str) -> StepOutcome:
        headers = {"Idempotency-Key": key} if key else {}
        async with httpx.AsyncClient(timeout=action.timeout_s) as client:
            response = await client.post(action.url, headers=headers)
        ok = response.status_code < 400
        return StepOutcome(ok, f"POST {action.url} -> {response.status_code}")
