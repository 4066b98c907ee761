"""Configuration of the embedded demo stack: demo timings in seconds, the watched demo service."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from incidentctl.demo_estate import ROWS_METRIC
from incidentctl.demo_security_config import (
    CONTAINMENT_REMEDIES,
    EMERGENCY_APPROVAL,
    merged,
    security_endpoint,
    security_recovery,
)
from incidentctl.embedded import EMBEDDED_IDEMPOTENCE
from incidentctl.estate import haproxy
from incidentctl.estate.backup_policy import PROM_TO_SIGNAL
from incidentctl.estate.runner import EstateState
from shared import metric_names as mn

if TYPE_CHECKING:
    from incidentctl.stack import StackState

DEMO_TARGET: Final = "demo"


@dataclass(frozen=True)
class DemoProcess:
    """How the demo service is started, so recovery can restart it the same way."""

    argv: tuple[str, ...]
    pidfile: Path
    log_file: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    """The estate's settings (``IR_DEMO_DSN``, ``IR_DEMO_BACKUP_STATUS``; no secret), empty without the estate."""


DEMO_ESCALATION: Final[dict[str, Any]] = {
    "critical": {
        "response_target_s": 60,
        "steps": [{"after_s": 0, "teams": ["L1", "L2"]}, {"after_s": 60, "teams": ["L3"]}],
    },
    "major": {
        "response_target_s": 120,
        "steps": [
            {"after_s": 0, "teams": ["L1"]},
            {"after_s": 120, "teams": ["L2"]},
            {"after_s": 240, "teams": ["L3"]},
        ],
    },
    "minor": {"response_target_s": 240, "steps": [{"after_s": 0, "teams": ["L1"]}, {"after_s": 240, "teams": ["L2"]}]},
}
"""The manual's escalation policy shortened to seconds, so a demo shows every step within minutes."""


def api_token() -> str:
    """The console/API bearer token: ``IR_API_TOKEN`` if set, else a fresh random one."""
    return os.environ.get("IR_API_TOKEN") or secrets.token_urlsafe(24)


class DemoFiles(NamedTuple):
    """Where the demo service of the stack under a root keeps its pid, its log and its output."""

    pidfile: Path
    log_file: Path
    stdout_file: Path
    """Its stdout and stderr: a crash at start (before its log is open) shows here."""

    @classmethod
    def under(cls, root: Path) -> DemoFiles:
        """The demo's files in the stack under ``root``."""
        return cls(root / "run" / "demo.pid", root / "logs" / "demo-app.log", root / "logs" / "demo.stdout.log")


def demo_process(root: Path, port: int, env: dict[str, str] | None = None) -> DemoProcess:
    """Describe the demo service process of the stack under ``root`` (``env``: the estate's settings)."""
    pidfile, log_file, _ = DemoFiles.under(root)
    argv = (sys.executable, "-m", "incidentctl.demo_service", "--port", str(port), "--log-file", str(log_file),
            "--pidfile", str(pidfile))  # fmt: skip
    return DemoProcess(argv, pidfile, log_file, root, dict(env or {}))


def pager_process(root: Path, port: int) -> tuple[str, ...]:
    """Return the argv of the stack's pager inbox (pages land in ``logs/pages.jsonl``)."""
    out = root / "logs" / "pages.jsonl"
    return (sys.executable, "-m", "incidentctl.pager_inbox", "--port", str(port), "--out", str(out))


DEMO_LOAD_RPS: Final = 50.0
"""Requests a second the stack's load generator sends to the demo (``IR_DEMO_LOAD_RPS``; 0: none).

About 100 requests per 2 s scrape besides the probes, so one failed request in a hundred, the
manual's 1 %, is measurable from the demo's own request counters."""


def load_process(demo_url: str) -> tuple[str, ...] | None:
    """Return the argv of the stack's load generator on the demo service, or None when turned off."""
    try:
        rate = float(os.environ.get("IR_DEMO_LOAD_RPS", DEMO_LOAD_RPS))
    except ValueError:
        rate = DEMO_LOAD_RPS
    if rate <= 0:
        return None
    return (sys.executable, "-m", "incidentctl.demo_load", "--url", demo_url + "/", "--rate", f"{rate:g}")


def current_demo_pid(root: Path) -> int | None:
    """Pid of the demo service now (recovery may have restarted it under a new pid)."""
    try:
        return int(DemoFiles.under(root).pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def service_env(name: str, state: StackState, *, config_file: Path, pager_secret: str) -> dict[str, str]:
    """Environment of one service process."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": state.kafka,
        "ELASTICSEARCH_URL": state.elasticsearch,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(state.ports[name]),
        "IR_CONFIG_FILE": str(config_file),
        "IR_INSTANCE_ID": f"{name}-1",  # stable across restarts: the restarted process replaces its dead self
        "IR_HEARTBEAT_INTERVAL_S": "2",
        "IR_STALL_AFTER_S": "45",
        "IR_JOIN_TIMEOUT_S": "30",
        "KAFKA_ENABLE_IDEMPOTENCE": EMBEDDED_IDEMPOTENCE,  # noida-db forgets producer ids on restart
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "PYTHONUNBUFFERED": "1",
    }
    if name == "responder":
        env["RESPONDER_API_TOKEN"] = state.api_token
        env["RESPONDER_SECRETS__PAGER"] = pager_secret
    if name == "collector":
        env["COLLECTOR_FALLBACK_WEBHOOK_SECRET"] = pager_secret
    if name == "recovery":
        env |= estate_recovery_env(state.path)
    return env


def _pager_route(state: StackState) -> dict[str, Any]:
    return {"type": "webhook", "name": "pager", "url": state.pager_url, "secret": "pager", "backoff_s": 0.2}


BACKUP_ENDPOINT: Final[dict[str, Any]] = {
    "name": "backup",
    "node": None,
    "http": None,
    "relabel": [
        {"action": "keep", "source_labels": ["__name__"], "regex": "estate_.*"},
        *(
            {"source_labels": ["__name__"], "regex": prom, "target_label": "__name__", "replacement": signal}
            for prom, signal in {**PROM_TO_SIGNAL, ROWS_METRIC: mn.DB_ROWS}.items()
        ),
    ],
    "metrics": [r"backup\..*", r"db\.rows"],
}
"""The estate's gauges on the demo's /metrics: ``backup.age_s``, ``backup.last_ok`` and ``db.rows`` (orders)."""


def service_configs(root: Path, state: StackState, demo: DemoProcess) -> dict[str, dict[str, Any]]:
    """YAML configuration of each service for the demo: the manual's rules on a seconds time scale."""
    configs = _service_configs(root, state, demo)
    if demo.env:
        target = configs["collector"]["targets"][0]
        target["exposition"].append({"url": state.demo_url + "/metrics", **BACKUP_ENDPOINT})
        configs["recovery"]["managed_processes"][0]["env"] = dict(demo.env)  # restarted with its database
        estate = EstateState.load(root)
        if estate is not None:
            configs["collector"]["targets"].append(
                {"name": DB_TARGET, "url": estate.health_url, "probes_per_scrape": 2}
            )
            configs["recovery"] |= estate_recovery(estate)
            configs["rca"]["call_graph_file"] = str(write_call_graph(root))
            if estate.public_url() is not None:  # the demo behind the public entrance
                target["exposition"].append(security_endpoint(state.demo_url))
                configs["recovery"] = merged(configs["recovery"], security_recovery(estate, DEMO_TARGET))
    return configs


def public_url(state: StackState) -> str:
    """Where the demo's users (the load generator, an attacker) reach it: HAProxy's public entrance, else directly."""
    estate = EstateState.load(state.path)
    found = estate.public_url() if estate is not None else None
    return found or state.demo_url


def write_call_graph(root: Path) -> Path:
    """The demo's call graph for RCA (the demo calls its database): a symptom of the caller is not the cause."""
    path = root / "config" / "call_graph.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"caller,callee\n{DEMO_TARGET},{DB_TARGET}\n", encoding="utf-8")
    return path


DB_TARGET: Final = "demo-db"
"""The demo's database service as one target: HAProxy's health frontend answers while a server is usable."""
RECOVERY_DSN_ENV: Final = "RECOVERY_DEMO_DSN"
"""The recovery service's connection to the demo database through HAProxy (restore; password from a passfile)."""
RECOVERY_STANDBY_DSN_ENV: Final = "RECOVERY_STANDBY_DSN"
"""The recovery service's superuser connection to the standby over its unix socket (promotion; no secret)."""
EMERGENCY_REMEDIES: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    (DB_TARGET, "down"): ("promote_standby:db", "failover:db"),
    (DEMO_TARGET, "data_loss"): ("restore_backup:orders",),
}
"""(target, problem class) -> the emergency actions recovery runs for it, in order, each approved first."""


def emergency_actions(target: str, problem: str) -> tuple[str, ...]:
    """The emergency actions the demo stack declares for ``problem`` on ``target`` (containment included)."""
    found = EMERGENCY_REMEDIES.get((target, problem))
    if found is not None:
        return found
    return CONTAINMENT_REMEDIES.get(problem, ()) if target == DEMO_TARGET else ()


def estate_recovery(estate: EstateState) -> dict[str, Any]:
    """Recovery's emergency actions on the estate: promote and fail over the database, restore the orders."""
    return {
        "promote_actions": [{"name": "db", "target": DB_TARGET, "dsn_env": RECOVERY_STANDBY_DSN_ENV, "timeout_s": 30}],
        "failover_actions": [
            {
                "name": "db",
                "target": DB_TARGET,
                "socket": str(estate.admin_socket),
                "backend": haproxy.BACKEND,
                "primary": haproxy.PRIMARY,
                "standby": haproxy.STANDBY,
            }
        ],
        "restore_actions": [
            {
                "name": "orders",
                "target": DEMO_TARGET,
                "dsn_env": RECOVERY_DSN_ENV,
                "backup_dir": str(estate.backups),
                "require_tables": ["orders"],
                "checksum_table": "orders",
                "verify_query": "SELECT count(*) FROM orders",
                "verify_min": 1,
            }
        ],
        "targets": {
            target: {
                "remedies": {problem: list(actions)},
                "approval": {action: EMERGENCY_APPROVAL for action in actions},
            }
            for (target, problem), actions in EMERGENCY_REMEDIES.items()
        },
    }


def estate_recovery_env(root: Path) -> dict[str, str]:
    """The recovery service's DSN variables for the estate under ``root`` (empty without one)."""
    estate = EstateState.load(root)
    if estate is None:
        return {}
    return {
        RECOVERY_DSN_ENV: estate.dsn(),
        RECOVERY_STANDBY_DSN_ENV: estate.superuser_dsn(estate.standby_port),
    }


def _service_configs(root: Path, state: StackState, demo: DemoProcess) -> dict[str, dict[str, Any]]:
    return {
        "collector": {
            "targets": [
                {
                    "name": DEMO_TARGET,
                    "url": state.demo_url + "/",
                    "pidfile": str(demo.pidfile),
                    "log_files": [str(demo.log_file)],
                    "probes_per_scrape": 5,
                    "exposition": [  # the demo's RED metrics: error rate, throughput, latency of its real traffic
                        {
                            "url": state.demo_url + "/metrics",
                            "rate_window_s": 6,  # ~300 requests: 1 % is 3 failed requests, not 1 in a scrape
                            "relabel": [{"action": "keep", "source_labels": ["path"], "regex": "/"}],  # its API
                        }
                    ],
                }
            ],
            "intervals": {"normal_s": 2, "incident_s": 1, "post_recovery_s": 3, "post_recovery_duration_s": 30},
            "log_state_dir": str(root / "state" / "collector"),
            "fallback_webhook_url": state.pager_url,
        },
        "detector": {"profile": "demo"},
        "responder": {
            "console_url": state.api_url,
            "api": {"reports_dir": str(root / "reports")},
            "grouping": {
                "group_wait_s": 1,
                "group_interval_s": 10,
                "repeat_interval_s": 120,
                "raise_wait_s": 5,
                "recovery_hold_s": 90,
            },
            "auto_resolve_after_s": 20,
            "escalation": DEMO_ESCALATION,
            "routes": {team: [{"type": "log"}, _pager_route(state)] for team in ("L1", "L2", "L3")},
        },
        "recovery": {
            "managed_processes": [
                {
                    "name": DEMO_TARGET,
                    "target": DEMO_TARGET,
                    "command": list(demo.argv),
                    "cwd": str(demo.cwd),
                    "pidfile": str(demo.pidfile),
                    "log_file": str(DemoFiles.under(root).stdout_file),
                }
            ],
            "verification": {"healthy_scrapes": 3, "timeout_s": 60},
            "cooldown": {"max_restarts": 5, "window_s": 600},
        },
        "rca": {
            "reports_dir": str(root / "reports"),
            # one response target per severity: the report judges by the responder's own clock
            "response_targets_s": {sev: policy["response_target_s"] for sev, policy in DEMO_ESCALATION.items()},
        },
    }
