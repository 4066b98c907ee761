"""The embedded stack: broker, topics, the five services and the demo service, on loopback."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from incidentctl import demo_config
from incidentctl.embedded import start_broker
from incidentctl.procs import alive, free_port, spawn, terminate
from shared.bus import ensure_topics
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
        (self.path / "state.json").write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, root: Path) -> StackState:
        """Read ``state.json`` of the stack under ``root``."""
        path = root / "state.json"
        if not path.exists():
            raise FileNotFoundError(f"no stack is running under {root} (no {path})")
        return cls(**json.loads(path.read_text()))

    def settings(self) -> ServiceSettings:
        """Client settings pointing at this stack's broker."""
        return ServiceSettings(kafka_bootstrap_servers=self.kafka, elasticsearch_url=self.elasticsearch)


def start(
    root: Path, *, log: Callable[[str], None] = print, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> StackState:
    """Start everything under ``root`` and wait until every service is ready.

    ``overrides`` replaces top-level keys of a service's demo configuration (e.g. a benchmark
    that turns the statistical detector off: ``{"detector": {"statistical": {"enabled": False}}}``).
    """
    root = root.resolve()
    for sub in ("data", "logs", "config", "reports", "run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    log(f"starting embedded Kafka + Elasticsearch (noida-db) in {root / 'data'}")
    broker = start_broker(root / "data", root / "logs" / "noida-db.log")
    ports = {name: free_port() for name in (*SERVICES, "demo", "pager")}
    token, pager_secret = demo_config.api_token(), secrets.token_hex(16)
    state = StackState(
        root=str(root),
        kafka=broker.kafka,
        elasticsearch=broker.elasticsearch,
        api_url=f"http://127.0.0.1:{ports['responder']}",
        demo_url=f"http://127.0.0.1:{ports['demo']}",
        api_token=token,
        pager_url=f"http://127.0.0.1:{ports['pager']}/pages",
        pids={"noida-db": broker.process.pid},
        ports=ports | {"kafka": broker.kafka_port, "elasticsearch": broker.es_port},
    )
    state.save()
    try:
        created = asyncio.run(ensure_topics(state.settings()))
        log(f"created {len(created)} topics")
        demo = demo_config.demo_process(root, ports["demo"])
        state.pids["demo"] = spawn(demo.argv, log_file=root / "logs" / "demo.stdout.log").pid
        pager = demo_config.pager_process(root, ports["pager"])
        pager_env = {"PAGER_WEBHOOK_SECRET": pager_secret}
        state.pids["pager"] = spawn(pager, log_file=root / "logs" / "pager.log", env=pager_env).pid
        state.save()
        configs = demo_config.service_configs(root, state, demo)
        for name, extra in (overrides or {}).items():
            configs[name] = {**configs[name], **extra}
        for name in SERVICES:
            path = root / "config" / f"{name}.yaml"
            path.write_text(yaml.safe_dump(configs[name], sort_keys=False))
            env = demo_config.service_env(name, state, config_file=path, pager_secret=pager_secret)
            proc = spawn([sys.executable, "-m", f"services.{name}"], log_file=root / "logs" / f"{name}.log", env=env)
            state.pids[name] = proc.pid
            state.save()
        for name in SERVICES:
            wait_ready(name, state)
        log("all services ready")
    except BaseException:
        stop(state, log=log)
        raise
    return state


def wait_ready(name: str, state: StackState, *, timeout: float = READY_TIMEOUT_S) -> None:
    """Poll a service's /readyz until it answers 200."""
    url = f"http://127.0.0.1:{state.ports[name]}/readyz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(state.pids[name]):
            tail = (state.path / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"service {name} exited during start-up; its log ends with:\n{tail}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"service {name} not ready after {timeout}s ({url})")


def stop(state: StackState, *, log: Callable[[str], None] = print) -> None:
    """Stop every process of the stack: the watchers first, then the demo service, the broker last.

    The collector and recovery go first: were the demo stopped while they still run, its absence
    would be a real outage to them, and recovery would restart it behind our back.
    """
    first = [n for n in ("collector", "recovery") if n in state.pids]
    rest = [n for n in state.pids if n not in (*first, "demo", "noida-db")]
    for name in [*first, *rest]:
        _stop(name, state.pids[name], log)
    demo_pid = demo_config.current_demo_pid(state.path) or state.pids.get("demo")
    if demo_pid is not None:
        _stop("demo", demo_pid, log)
    if "noida-db" in state.pids:
        _stop("noida-db", state.pids["noida-db"], log)
    (state.path / "state.json").unlink(missing_ok=True)


def _stop(name: str, pid: int, log: Callable[[str], None]) -> None:
    if alive(pid):
        terminate(pid, timeout=8.0)
        log(f"stopped {name} (pid {pid})")
