"""Every environment variable a service reads is set in compose and k8s, in its config file, or defaulted on purpose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from tests.unit.deploy.deployment import (
    SERVICES,
    compose_config_file,
    compose_env,
    env_names,
    field_of,
    k8s_config_file,
    k8s_env,
    settings_class,
)

_SECRET_OPTIONAL = "a credential: only with a secured broker/cluster, from the deployer's secret (README, security)"
_CLIENT_KNOB = "client tuning: the default suits production (README, 'When things break')"

# Left to their defaults in both compose and k8s, each for the reason given.
DEFAULTED: dict[str, str] = {
    **{
        name: _SECRET_OPTIONAL
        for name in (
            "KAFKA_SECURITY_PROTOCOL",
            "KAFKA_SASL_MECHANISM",
            "KAFKA_SASL_USERNAME",
            "KAFKA_SASL_PASSWORD",
            "KAFKA_SSL_CAFILE",
            "KAFKA_SSL_CERTFILE",
            "KAFKA_SSL_KEYFILE",
            "KAFKA_SSL_KEY_PASSWORD",
            "ELASTICSEARCH_API_KEY",
            "ELASTICSEARCH_USERNAME",
            "ELASTICSEARCH_PASSWORD",
            "ELASTICSEARCH_CA_CERTS",
        )
    },
    **{
        name: _CLIENT_KNOB
        for name in (
            "IR_FETCH_IDLE_SHARE",
            "IR_HEARTBEAT_INTERVAL_S",
            "IR_JOIN_TIMEOUT_S",
            "IR_REBUILD_WINDOW_RECORDS",
            "IR_STALL_AFTER_S",
            "KAFKA_SESSION_TIMEOUT_MS",
        )
    },
    "EVENT_MAX_SKEW_S": "300 s: the edge's default bound on events dated ahead of their record",
    "EVENT_MAX_AGE_S": "no bound by default: replays, backfills and re-driven dead letters carry old times",
    "TOPIC_PREFIX": "empty: one stack per cluster; set to share a cluster between stacks",
    "KAFKA_TOPIC_RETENTION_MS": "the contract's retention per topic (shared/topics.py) unless overridden",
    "KAFKA_DLQ_RETENTION_MS": "30 days of dead letters",
    "KAFKA_ENABLE_IDEMPOTENCE": "auto: idempotent where the broker grants a producer id (Kafka does)",
    # collector
    "COLLECTOR_GROUP_ID": "collector-<host name>: one group per collector (per node in k8s), as cadence needs",
    "COLLECTOR_PROBE_TIMEOUT_S": "5 s per HTTP probe",
    "COLLECTOR_SHIP_LOGS": "on: targets' log_files are shipped when listed",
    "COLLECTOR_LOG_INDEX_PREFIX": "application-logs, the detector's default index pattern",
    "COLLECTOR_LOG_POLL_S": "log tailing knob",
    "COLLECTOR_LOG_MULTILINE_IDLE_S": "log tailing knob",
    "COLLECTOR_LOG_BATCH_MAX": "log tailing knob",
    "COLLECTOR_LOG_RETRY_INITIAL_S": "log tailing knob",
    "COLLECTOR_LOG_RETRY_MAX_S": "log tailing knob",
    "COLLECTOR_WATCH_STAGES": "on: heartbeats of every stage are watched",
    "COLLECTOR_STAGE_MISSED_BEATS": "stage-watch knob",
    "COLLECTOR_STAGE_LAG_BEATS": "stage-watch knob",
    "COLLECTOR_STAGE_MIN_LAG": "stage-watch knob",
    "COLLECTOR_FALLBACK_WEBHOOK_URL": "optional: a direct page when the responder falls silent (set with its secret)",
    # recovery
    "RECOVERY_GROUP_ID": "recovery",
    "RECOVERY_ESCALATE_WITHOUT_PLAN": "on: no catalog action means escalate",
    "RECOVERY_MANAGED_PROCESSES": "none in containers: the platform restarts processes",
    **{
        f"RECOVERY_{kind}_ACTIONS": "none by default: the deployer declares its HAProxy/supervisord/PostgreSQL actions"
        for kind in ("FAILOVER", "ISOLATE", "SUPERVISOR", "PROMOTE", "RESTORE", "ROLLOUT_RESTART", "SCALE")
    },
    "RECOVERY_DEADLINE_CHECK_S": "1 s verification tick",
    "RECOVERY_CONFIRM_MAX_AGE_S": "30 s",
    # rca
    "RCA_GROUP_ID": "rca (keda.yaml scales on it)",
    "RCA_ENGINE": "the ranking engine's defaults",
    "RCA_CALL_GRAPH_FILE": "optional call graph",
    "RCA_TOP_CANDIDATES": "5",
    "RCA_RUN_ON_RECOVERY_VERIFIED": "on",
    "RCA_NOISY_RULE_MIN_FIRINGS": "5",
    # responder
    "RESPONDER_SEVERITY_RULES": "the manual's severity rules",
    "RESPONDER_DEFAULT_SEVERITY": "minor",
    "RESPONDER_INHIBIT_RULES": "the manual's inhibition",
    "RESPONDER_ESCALATION": "the manual's escalation",
    "RESPONDER_ESCALATION__*": "the manual's escalation",
    "RESPONDER_TICK_S": "1 s clock",
    "RESPONDER_NOTIFY_MAX_AGE_S": "1 h",
    "RESPONDER_ONCALL": "no schedules: pages go to the team channels (README, on-call schedules)",
    "RESPONDER_ONCALL__PEOPLE": "no schedules: pages go to the team channels",
    "RESPONDER_ONCALL__SCHEDULES": "no schedules: pages go to the team channels",
    "RESPONDER_ONCALL_FILE": "optional: the oncall section in a file of its own",
    "RESPONDER_MAINTENANCE_WINDOWS": "none: declared in the config file when a team has them",
    "RESPONDER_STAKEHOLDERS": "no subscribers: no status e-mails (README, stakeholders)",
    "RESPONDER_STAKEHOLDERS__SMTP": "no subscribers: no SMTP server is needed",
    "RESPONDER_STAKEHOLDERS__STATUS_PAGE_URL": "optional: e-mails link no status page",
    "RESPONDER_STAKEHOLDERS__SUBSCRIBERS": "none: declared in the config file when a service has them",
    "RESPONDER_API_RESPONSE_TARGETS_S": "the manual's response targets, as the responder's",
    "RESPONDER_API_RESPONSE_TARGETS_S__*": "the manual's response targets, as the responder's",
    "RESPONDER_SECRETS": "set per channel as RESPONDER_SECRETS__<NAME>",
    **{
        f"RESPONDER_API_{k}": "two-way chat is opt-in: unset, the Slack and callback routes answer 503 (README)"
        for k in ("SLACK_SIGNING_SECRET", "SLACK_REPLY_PREFIX", "CALLBACK_SECRET", "PUBLIC_URL", "CALLBACK_TTL_S")
    },
    **{
        f"RESPONDER_API_{k}": "API knob with a safe default (README, security table)"
        for k in (
            "ALERTMANAGER",
            "AUTH_BLOCK_S",
            "AUTH_MAX_FAILURES",
            "AUTH_WINDOW_S",
            "CHAOS_LOOKBACK_S",
            "CONSOLE_TITLE",
            "LANGUAGE",
            "MAX_BODY_BYTES",
            "MAX_EVENTS_PER_ANOMALY",
            "OPEN_READS",
            "POLL_INTERVAL_MS",
        )
    },
    **{
        f"RESPONDER_API_ALERTMANAGER__{k}": "Alertmanager label mapping: defaults follow its conventions"
        for k in (
            "DEFAULT_IMPACT",
            "DEFAULT_TARGET",
            "HOST_LABEL",
            "IMPACT_ANNOTATION",
            "SEVERITY_IMPACTS",
            "SEVERITY_LABEL",
            "SIGNAL_LABEL",
            "TARGET_LABELS",
        )
    },
}
# Left to their defaults in one of the two only.
DEFAULTED_IN: dict[str, dict[str, str]] = {
    "compose": {
        "IR_INSTANCE_ID": "<container host name>-<pid>: kept across a container's restarts (pid 1), one per replica",
        "RESPONDER_API_READ_TOKEN": "optional: RESPONDER_API_TOKEN serves reads too",
        "COLLECTOR_HOST_NAME": "the container's host name: the demo stack's host",
        "COLLECTOR_DISK_PATH": "/: the container's disk (a host disk needs a host mount, as in k8s)",
        "COLLECTOR_SCRAPE_HOST": "on: the container's host metrics",
        "COLLECTOR_FALLBACK_WEBHOOK_SECRET": "with COLLECTOR_FALLBACK_WEBHOOK_URL only",
    },
    "k8s": {},
}


def uncovered(service: str, env: dict[str, Any], config: Path) -> set[str]:
    """Variables the service reads that neither the environment nor its config file sets."""
    cls = settings_class(service)
    data: dict[str, Any] = yaml.safe_load(config.read_text()) or {}
    api_keys = set(data.get("api") or {})  # the responder's ApiSettings (RESPONDER_API_<FIELD>) as api.<field>
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    own_prefix = {  # a nested settings class read under its own prefix: <PREFIX><FIELD>[__X] only re-spell its names
        f"{prefix}{f}".upper()
        for f, info in cls.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings)
    }
    missing = set()
    for name in env_names(cls):
        base = name.removesuffix("__*")
        if base in own_prefix or base.split("__")[0] in own_prefix:
            continue
        if name in env or (name.endswith("__*") and any(k.startswith(f"{base}__") for k in env)):
            continue
        if name.startswith("RESPONDER_API_") and name.removeprefix("RESPONDER_API_").lower() in api_keys:
            continue
        field = field_of(cls, base)
        if field in data and field != "api":
            continue
        missing.add(name)
    return missing


def targets(service: str) -> dict[str, tuple[dict[str, Any], Path]]:
    return {
        "compose": (compose_env(service), compose_config_file(service)),
        "k8s": (k8s_env(service), k8s_config_file(service)),
    }


@pytest.mark.parametrize("where", ["compose", "k8s"])
@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_set_or_defaulted_on_purpose(service: str, where: str) -> None:
    env, config = targets(service)[where]
    unexplained = uncovered(service, env, config) - set(DEFAULTED) - set(DEFAULTED_IN[where])
    assert not unexplained, f"{service} in {where} leaves these unset without a reason: {sorted(unexplained)}"


def test_the_allow_lists_hold_no_stale_names() -> None:
    """Each allowed default is read by some service and actually left unset somewhere."""
    read = set().union(*(env_names(settings_class(s)) for s in SERVICES))
    assert not set(DEFAULTED) - read, sorted(set(DEFAULTED) - read)
    left = {w: set().union(*(uncovered(s, *targets(s)[w]) for s in SERVICES)) for w in ("compose", "k8s")}
    for where, names in DEFAULTED_IN.items():
        assert set(names) <= left[where], sorted(set(names) - left[where])
    assert set(DEFAULTED) <= left["compose"] | left["k8s"], sorted(set(DEFAULTED) - left["compose"] - left["k8s"])


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_sets_only_variables_the_code_reads(service: str) -> None:
    accepted = env_names(settings_class(service)) | {"IR_CONFIG_FILE"}
    wildcards = tuple(n.removesuffix("*") for n in accepted if n.endswith("__*"))
    unknown = {k for k in set(k8s_env(service)) - accepted if not k.startswith(wildcards)}
    assert not unknown, f"{service}: k8s sets variables the code never reads: {sorted(unknown)}"
