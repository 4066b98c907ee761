"""The environment each process of the embedded stack gets: what it needs to run, and only its own secrets.

A spawned process must not inherit the launcher's whole environment: the API token, the channel
secrets and any credential of the operator's shell would reach the demo service and every other
service. `child_env` starts from nothing and copies, from the parent, only the basics of a Python
process, the connection settings every service shares, and the service's own settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from shared.procenv import is_basic

SHARED: Final = (
    "KAFKA_",
    "ELASTICSEARCH_",
    "HTTP_HOST",
    "HTTP_PORT",
    "LOG_LEVEL",
    "TOPIC_PREFIX",
    "EVENT_MAX_",
    "IR_CONFIG_FILE",
    "IR_INSTANCE_ID",
    "IR_HEARTBEAT_INTERVAL_S",
    "IR_STALL_AFTER_S",
    "IR_JOIN_TIMEOUT_S",
    "IR_FETCH_IDLE_SHARE",
    "IR_REBUILD_WINDOW_RECORDS",
)
"""Settings every service reads (``shared.settings.ServiceSettings``), broker and Elasticsearch credentials included."""

OWN_PREFIXES: Final[dict[str, tuple[str, ...]]] = {
    "collector": ("COLLECTOR_",),
    "detector": ("DETECTOR_",),
    "responder": ("RESPONDER_",),  # RESPONDER_API_TOKEN, RESPONDER_API_READ_TOKEN, RESPONDER_SECRETS__*
    "recovery": ("RECOVERY_",),
    "rca": ("RCA_",),
    "pager": ("PAGER_",),
    # the estate: its DSN (no password), backup status, public and egress URLs, the login user and password file
    "demo": ("IR_DEMO_DSN", "IR_DEMO_BACKUP_STATUS", "IR_DEMO_PUBLIC_URL", "IR_DEMO_EGRESS_URL", "IR_DEMO_LOGIN_"),
    "load": (),
}
"""Each process's own settings; secrets such as the API token and channel keys are the responder's alone."""

SERVICES: Final = ("collector", "detector", "responder", "recovery", "rca")


def _wanted(name: str, process: str) -> bool:
    if is_basic(name):
        return True
    if process in SERVICES and any(name == s or name.startswith(s) for s in SHARED):
        return True
    return name.startswith(OWN_PREFIXES.get(process, ()))


def child_env(process: str, parent: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of ``process`` (a service name, ``demo`` or ``pager``) spawned from ``parent``.

    ``extra`` (what the launcher sets for this process: ports, config file, its own secrets) is
    filtered by the same rule, so a secret meant for one process can never be handed to another.
    Unknown process names get the basics only.
    """
    env = {k: v for k, v in parent.items() if _wanted(k, process)}
    env |= {k: v for k, v in (extra or {}).items() if _wanted(k, process)}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
