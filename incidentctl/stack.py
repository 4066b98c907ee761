"""The embedded stack: broker, topics, the five services and the demo service, on loopback."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import psutil
import yaml

from incidentctl import demo_config
from incidentctl.child_env import child_env
from incidentctl.embedded import EMBEDDED_IDEMPOTENCE, broker_argv
from incidentctl.exits import NoStack, say
from incidentctl.procs import alive, free_port, spawn, terminate
from incidentctl.supervisor import ProcessSpec, write_plan
from shared.files import write_private
from shared.settings import ServiceSettings

SERVICES: Final = ("collector", "detector", "responder", "recovery", "rca")
READY_TIMEOUT_S: Final = 60.0


@dataclass
class StackState:
    """What a running stack is made of; saved as ``state.json`` so ``down`` can stop it."""

    root: str
    kafka: str
    elasticsearch: str
    api_url: str
    demo_url: str
    api_token: str
    pager_url: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)

    @property
    def path(self) -> Path:
        """Root folder of the stack."""
        return Path(self.root)

    def save(self) -> None:
        """Write ``state.json``."""
        write_private(self.path / "state.json", json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, root: Path) -> StackState:
        """Read ``state.json`` of the stack under ``root`` (it may be stale: see ``running``).

        Raises:
            NoStack: when there is no readable ``state.json``.

        """
        path = root / "state.json"
        if not path.exists():
            raise NoStack(say("err_no_stack", root=root))
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise NoStack(say("err_unreadable", path=path, name=type(exc).__name__)) from exc

    @classmethod
    def load_running(cls, root: Path) -> StackState:
        """Read the state of the stack under ``root`` and check that its supervisor still runs.

        Raises:
            NoStack: when none was started, or its processes are gone (a reboot, a kill).

        """
        state = cls.load(root)
        if not state.running():
            raise NoStack(say("err_not_running", root=root))
        return state

    def running(self) -> bool:
        """Whether this stack's supervisor runs (a pid reused after a reboot by another program does not count)."""
        pid = self.pids.get("supervisor")
        if pid is None or not alive(pid):
            return False
        try:
            cmdline = psutil.Process(pid).cmdline()
        except psutil.Error:
            return False
        return "incidentctl.supervisor" in cmdline and str(self.path.resolve()) in cmdline

    def settings(self) -> ServiceSettings:
        """Client settings pointing at this stack's broker."""
        return ServiceSettings(
            kafka_bootstrap_servers=self.kafka,
            elasticsearch_url=self.elasticsearch,
            kafka_enable_idempotence=EMBEDDED_IDEMPOTENCE,  # noida-db forgets producer ids on restart
        )


def start(
    root: Path,
    *,
    log: Callable[[str], None] = print,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    instances: Mapping[str, int] | None = None,
    estate: bool = False,
) -> StackState:
    """Start everything under ``root`` under a supervisor and wait until every service is ready.

    ``estate`` also starts the demo estate (PostgreSQL primary + standby, HAProxy, backups; see
    ``incidentctl.estate``) where its programs are installed, and the demo stores its orders there.

    ``overrides`` replaces top-level keys of a service's demo configuration (e.g. a benchmark
    that turns the statistical detector off: ``{"detector": {"statistical": {"enabled": False}}}``).
    ``instances`` runs more than one instance of a service in its consumer groups (``detector-2``...).
    """
    root = root.resolve()
    for sub in ("data", "logs", "config", "reports", "run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    names = instance_names(instances or {})
    ports = {name: free_port() for name in (*names, "demo", "pager", "kafka", "elasticsearch")}
    token, pager_secret = demo_config.api_token(), secrets.token_hex(16)
    state = StackState(
        root=str(root),
        kafka=f"127.0.0.1:{ports['kafka']}",
        elasticsearch=f"http://127.0.0.1:{ports['elasticsearch']}",
        api_url=f"http://127.0.0.1:{ports['responder']}",
        demo_url=f"http://127.0.0.1:{ports['demo']}",
        api_token=token,
        pager_url=f"http://127.0.0.1:{ports['pager']}/pages",
        ports=ports,
    )
    state.save()
    try:
        demo_env = _start_estate(root, log, ports["demo"]) if estate else None
        demo = demo_config.demo_process(root, ports["demo"], demo_env)
        demo_log = demo_config.DemoFiles.under(root).stdout_file
        state.pids["demo"] = spawn(
            demo.argv, log_file=demo_log, env=child_env("demo", os.environ, demo.env), inherit_env=False
        ).pid
        configs = demo_config.service_configs(root, state, demo)
        for name, extra in (overrides or {}).items():
            configs[name] = {**configs[name], **extra}
        specs = _process_specs(root, state, configs, pager_secret, names)
        write_plan(root, specs, stop_order=STOP_ORDER, before_last=str(demo.pidfile))
        log(say("sc_starting", data=root / "data"))
        supervisor = spawn(
            [sys.executable, "-m", "incidentctl.supervisor", "--dir", str(root)],
            log_file=root / "logs" / "supervisor.log",
            env=child_env("supervisor", os.environ),  # the plan file carries each process's environment
            inherit_env=False,
        )
        state.pids["supervisor"] = supervisor.pid
        state.save()
        for name in names:
            wait_ready(name, state)
        log("all services ready")
    except BaseException:
        stop(state, log=log)
        raise
    return state


def _start_estate(root: Path, log: Callable[[str], None], demo_port: int) -> dict[str, str] | None:
    """Start the estate if its programs are here; return the demo's settings for it (None: skipped).

    HAProxy becomes the demo's public entrance and its egress (to the estate's sink).
    """
    from incidentctl import demo_security as sec
    from incidentctl.demo_estate import BACKUP_STATUS_ENV, DSN_ENV
    from incidentctl.estate import runner

    reason = runner.unavailable()
    if reason is not None:
        log(say("sc_estate_skipped", reason=reason))
        return None
    started = time.monotonic()
    estate = runner.start(root, demo_port=demo_port)
    log(say("sc_estate_started", primary=estate.primary_port, standby=estate.standby_port, proxy=estate.haproxy_port,
            every=runner.BACKUP_INTERVAL_S, backups=estate.backups, seconds=time.monotonic() - started))  # fmt: skip
    return {
        DSN_ENV: estate.dsn(),
        BACKUP_STATUS_ENV: str(estate.status_file),
        sec.PUBLIC_URL_ENV: estate.public_url() or "",
        sec.EGRESS_URL_ENV: estate.egress_url() or "",
        sec.LOGIN_USER_ENV: sec.DEMO_USER,
        sec.LOGIN_FILE_ENV: str(estate.login_file),
    }


STOP_ORDER: Final = ["load", "collector", "recovery", "detector", "responder", "rca", "pager", "noida-db"]
"""The watchers first (the demo's absence would be a real outage to them), the broker last."""


def instance_names(instances: Mapping[str, int]) -> list[str]:
    """Process names of the services: ``detector`` for the first instance, ``detector-2`` for the second..."""
    return [name if n == 1 else f"{name}-{n}" for name in SERVICES for n in range(1, instances.get(name, 1) + 1)]


def service_of(process: str) -> str:
    """The service an instance's process name belongs to."""
    return process.split("-", 1)[0]


def _process_specs(
    root: Path, state: StackState, configs: dict[str, dict[str, Any]], pager_secret: str, names: list[str]
) -> list[ProcessSpec]:
    logs = root / "logs"
    broker = broker_argv(root / "data", kafka_port=state.ports["kafka"], es_port=state.ports["elasticsearch"])
    basics = child_env("noida-db", os.environ)  # not a service: the basics of a process only
    topics_env = basics | {"KAFKA_BOOTSTRAP_SERVERS": state.kafka}
    specs = [
        ProcessSpec("noida-db", broker, str(logs / "noida-db.log"), env=basics, wait_port=state.ports["kafka"]),
        ProcessSpec(
            "topics",
            [sys.executable, "-m", "incidentctl", "create-topics"],
            str(logs / "topics.log"),
            env=topics_env,
            oneshot=True,
        ),
        ProcessSpec(
            "pager",
            list(demo_config.pager_process(root, state.ports["pager"])),
            str(logs / "pager.log"),
            env=child_env("pager", os.environ, {"PAGER_WEBHOOK_SECRET": pager_secret}),
        ),
    ]
    load = demo_config.load_process(demo_config.public_url(state))
    if load is not None:  # steady real traffic on the demo, so its error rate is measured on real requests
        specs.append(ProcessSpec("load", list(load), str(logs / "load.log"), env=child_env("load", os.environ)))
    for service in SERVICES:
        path = root / "config" / f"{service}.yaml"
        path.write_text(yaml.safe_dump(configs[service], sort_keys=False))
    for name in names:
        service = service_of(name)
        path = root / "config" / f"{service}.yaml"
        env = demo_config.service_env(service, state, config_file=path, pager_secret=pager_secret)
        env |= {"HTTP_PORT": str(state.ports[name]), "IR_INSTANCE_ID": name if "-" in name else f"{name}-1"}
        env = child_env(service, os.environ, env)
        argv = [sys.executable, "-m", f"services.{service}"]
        health = f"http://127.0.0.1:{state.ports[name]}/healthz"
        specs.append(ProcessSpec(name, argv, str(logs / f"{name}.log"), env=env, health_url=health))
    return specs


def supervised(state: StackState) -> dict[str, Any]:
    """What the supervisor last wrote: its pid and, per process, pid, running, restarts, last exit."""
    try:
        return dict(json.loads((state.path / "run" / "supervisor.json").read_text()))
    except (OSError, ValueError):
        return {"processes": {}}


def pid_of(name: str, state: StackState) -> int | None:
    """The current pid of a supervised process (it changes when the supervisor restarts it)."""
    proc = supervised(state)["processes"].get(name)
    return int(proc["pid"]) if proc and proc.get("pid") else None


def wait_ready(name: str, state: StackState, *, timeout: float = READY_TIMEOUT_S) -> None:
    """Poll a service's /readyz until it answers 200."""
    url = f"http://127.0.0.1:{state.ports[name]}/readyz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(state.pids["supervisor"]):
            tail = (state.path / "logs" / "supervisor.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the stack's supervisor exited during start-up; its log ends with:\n{tail}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"service {name} not ready after {timeout}s ({url})")


def stop(state: StackState, *, log: Callable[[str], None] = print) -> None:
    """Stop the stack: the supervisor stops the services (all at once), the demo, the broker last.

    Only processes that are still this stack's are signalled: after a reboot the recorded pids may
    belong to other programs.
    """
    pid = state.pids.get("supervisor")
    if pid is not None and state.running():
        terminate(pid, timeout=60.0)
        log(say("sc_stopped", pid=pid))
    demo_pid = demo_config.current_demo_pid(state.path) or state.pids.get("demo")
    if demo_pid is not None and _runs(demo_pid, "incidentctl.demo_service"):
        terminate(demo_pid, timeout=8.0)
    _stop_estate(state.path)
    forget(state)


def _stop_estate(root: Path) -> None:
    """Stop the estate started under ``root``, if one was (after the demo: it writes there)."""
    from incidentctl.estate import runner

    estate = runner.EstateState.load(root)
    if estate is not None:
        runner.stop(estate)


def forget(state: StackState) -> None:
    """Remove ``state.json`` (a stopped or stale stack)."""
    (state.path / "state.json").unlink(missing_ok=True)


def _runs(pid: int, module: str) -> bool:
    """Whether ``pid`` is alive and runs ``python -m module`` (not a reused pid)."""
    if not alive(pid):
        return False
    try:
        return module in psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
