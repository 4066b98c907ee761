"""Hypothesis strategies of consumed records: valid events of every type, mutated ones, and garbage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any, Final

from hypothesis import strategies as st

from shared import events as ev
from shared import models as m
from shared.topics import ALL_TOPICS, Topic

CONSUMED: Final[tuple[Topic, ...]] = tuple(t for t in ALL_TOPICS if t.events)
NOW: Final = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW_MS: Final = int(NOW.timestamp() * 1000)

HOSTILE_TEXT: Final = (
    "../../../x", "/etc/passwd", "<script>alert(1)</script>", "a\nConsole: http://evil", "\u202e\u200b",
    "\x00\x1b[2J", "{{7*7}}", "$(id)", "x" * 70_000,
)  # fmt: skip
ODD_TIMES: Final = (
    "2026-06-01T12:00:00", "9999-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2026-06-01T21:00:00+09:00",
    "2026-13-40T99:99:99Z", "now", "",
)  # fmt: skip
ODD_NUMBERS: Final = (float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 2**63, -(2**63) - 1, 0.0, -0.0)


def _payload(kind: type[m.Payload]) -> m.Payload:
    """One valid payload of each kind (the seeds that generation varies and mutates)."""
    inc = m.Incident(
        incident_id="inc-1", group_key="service=demo", target="demo", title="demo is down", severity=m.Severity.MAJOR,
        severity_reason="service down", status=m.IncidentStatus.TRIGGERED, opened_at=NOW, anomaly_ids=("an-1",),
        signals=("process.up",), impacts=(m.Impact.SERVICE_DOWN,), labels={"service": "demo"}, evidence=("down",),
    )  # fmt: skip
    step = m.RecoveryStep(index=0, action="restart_process", target="demo", params={"process": "demo"})
    seeds: dict[type[m.Payload], m.Payload] = {
        m.MetricsObserved: m.MetricsObserved(target="demo", host="h1", observed_at=NOW, interval_s=2.0,
                                             samples=(m.MetricSample(name="process.up", value=1.0),)),
        m.Anomaly: m.Anomaly(anomaly_id="an-1", fingerprint="demo/cpu", kind=m.AnomalyKind.THRESHOLD, target="demo",
                             signal="process.cpu_percent", impact=m.Impact.RESOURCE_PRESSURE, score=0.9, observed=99.0,
                             since=NOW, last_seen=NOW, summary="cpu high", labels={"rule": "cpu"}, samples=("l1",)),
        m.IncidentTransition: m.IncidentTransition(incident=inc, reason="opened", team=m.Team.L1, escalation_step=0),
        m.NotificationRecord: m.NotificationRecord(notification_id="n-1", incident_id="inc-1", channel="log",
                                                   team=m.Team.L1, kind="page"),
        m.RecoveryPlan: m.RecoveryPlan(plan_id="plan-1", incident_id="inc-1", target="demo", steps=(step,),
                                       rationale="down"),
        m.RecoveryProgress: m.RecoveryProgress(plan_id="plan-1", incident_id="inc-1", target="demo", step=step),
        m.RecoveryApproval: m.RecoveryApproval(plan_id="plan-1", incident_id="inc-1", target="demo", step=step,
                                               severity=m.Severity.CRITICAL, timeout_s=300.0,
                                               default=m.ApprovalDefault.DENY, actor="a", reason="r"),
        m.RootCauseAnalysis: m.RootCauseAnalysis(
            incident_id="inc-1", target="demo", window_start=NOW, window_end=NOW, report_path="inc-1.md",
            ranking=(m.CauseCandidate(entity="demo", signal="process.up", score=1.0, evidence="exit"),)),
        m.Silence: m.Silence(silence_id="sil-1", matchers={"service": "demo"}, starts_at=NOW, ends_at=NOW,
                             author="a", reason="r"),
        m.ScheduleChange: m.ScheduleChange(schedule_name="l2", team=m.Team.L2, author="a",
                                           schedule={"name": "l2", "team": "L2", "layers": []}),
        m.OnCallChange: m.OnCallChange(schedule_name="l2", team=m.Team.L2, at=NOW, previous="ann", person="bob"),
        m.OperatorCommand: m.OperatorCommand(command_id="cmd-1", incident_id="inc-1", actor="a", text="t"),
        m.FaultInjected: m.FaultInjected(fault="crash", target="demo"),
        m.FollowUpAction: m.FollowUpAction(
            action_id="act-1", incident_id="inc-1", target="demo", section="monitoring", topic="thresholds",
            key="noisy_rule", text={"en": "tune it"}, owner=m.Team.L1, due=NOW),
        m.ServiceHeartbeat: m.ServiceHeartbeat(
            service="detector", instance="detector-1", pid=1, ready=True, started_at=NOW, sequence=1, interval_s=2.0,
            consumers=(m.ConsumerStatus(topic="collector.metrics.v1", group="detector", joined=True, lag=3),)),
    }  # fmt: skip
    return seeds[kind]


@cache
def seed_document(cls: type[ev.Envelope[Any]]) -> str:
    """A valid event of class ``cls`` as JSON text."""
    kind = cls.model_fields["data"].annotation
    event = cls.create(_payload(kind), source="/fuzz", id_parts=(cls.event_type,), time=NOW,  # type: ignore[arg-type]
                       subject="demo", correlationid="inc-1")  # fmt: skip
    return ev.encode_event(event).decode()


_SAFE_TEXT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def _vary(value: Any, draw: st.DrawFn) -> Any:
    """Replace leaves by values of the same kind that stay within the contract (mostly)."""
    if isinstance(value, dict):
        return {k: _vary(v, draw) for k, v in value.items()}
    if isinstance(value, list):
        return [_vary(v, draw) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return draw(st.integers(0, 5))
    if isinstance(value, float):
        return draw(st.floats(0.0, 1.0))
    if isinstance(value, str) and value.startswith(NOW.isoformat()[:10]):
        moment = NOW + timedelta(seconds=draw(st.integers(-(10**7), 200)))
        return moment.astimezone(draw(_OFFSETS)).isoformat()
    if isinstance(value, str) and draw(st.booleans()):
        return draw(_SAFE_TEXT)
    return value


@st.composite
def valid_documents(draw: st.DrawFn, cls: type[ev.Envelope[Any]]) -> dict[str, Any]:
    """A valid event of ``cls`` with its ids, texts, numbers and times varied (enums and types kept)."""
    doc = json.loads(seed_document(cls))
    varied = _vary({k: v for k, v in doc.items() if k not in ("type", "specversion", "datacontenttype")}, draw)
    data = doc["data"]
    keep = {k: data[k] for k in ("kind", "impact", "severity", "status", "team", "impacts") if k in data}
    return {**doc, **varied, "data": {**varied["data"], **keep}}


def _leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HOSTILE_TEXT), st.sampled_from(ODD_TIMES), st.sampled_from(ODD_NUMBERS), st.text(max_size=50),
        st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    )  # fmt: skip


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, cls: type[ev.Envelope[Any]]) -> dict[str, Any]:
    """A schema document with one field replaced by a hostile value, or deleted."""
    doc = draw(valid_documents(cls))
    paths = _paths(doc)
    if not paths:
        return doc
    path = draw(st.sampled_from(paths))
    node = doc
    for key in path[:-1]:
        node = node[key]
    if draw(st.booleans()) and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = draw(_leaf())
    return doc


def _encode(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True, default=str).encode()


def records(topic: Topic) -> st.SearchStrategy[bytes]:
    """Raw record values for ``topic``: valid events of its types, mutated ones, other types, garbage."""
    classes = st.sampled_from(topic.events)
    foreign = st.sampled_from([c for t in CONSUMED for c in t.events if c not in topic.events] or topic.events)
    return st.one_of(
        classes.flatmap(valid_documents).map(_encode),
        classes.flatmap(mutated).map(_encode),
        foreign.flatmap(valid_documents).map(_encode),
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.recursive(_leaf(), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner),
                     max_leaves=20).map(_encode),
    )  # fmt: skip


def record_times() -> st.SearchStrategy[int | None]:
    """Broker timestamps: none, around now, far past, far future."""
    return st.one_of(st.none(), st.integers(NOW_MS - 10**12, NOW_MS + 10**12), st.just(NOW_MS))
