"""A fast path for the hottest records of the contract: scrapes and anomalies decoded by msgspec, not pydantic.

A scrape is a dozen small objects; the pydantic schema (``shared.models``) validates one in about
13 us, msgspec decodes it in under 3. The structs here mirror ``events.MetricsObserved`` with
constraints at least as strict as the schema's, so what ``decode_scrape`` returns the schema
would admit too, with equal values. Whatever it is not sure of (a non-ASCII or escaped character
anywhere, a time in another spelling than RFC 3339's with at most microseconds, any constraint
failed) it returns None for, and the schema judges the record as before: a malformed scrape is
still refused by the schema, with the schema's reason. tests/unit/shared/test_wire.py checks the
mirror against the schema on generated records.

Anomalies (the responder's input) the same way (``decode_anomaly``): the schema validates one in
about 7 us, this in under 4.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Final, Literal, Protocol

import msgspec

from shared import events as ev
from shared.models import ID_PATTERN, MAX_ID, MAX_ITEMS, MAX_TEXT, AnomalyKind, Impact

_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
"""The one spelling of a time the fast path reads (``isoformat`` of an aware time, or with ``Z``)."""

_BACKSLASH: Final = ord("\\")
_DEL: Final = 0x7F
"""Bytes a record the fast path reads has none of. Searched for as ints: ``b"\\" in raw`` first
tries its operand as an int, raising and clearing a TypeError (325 ns on a 1.2 kB scrape, 24 as an int)."""

_Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
_Id = Annotated[str, msgspec.Meta(max_length=MAX_ID, pattern=ID_PATTERN)]
_EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
_Name = Annotated[str, msgspec.Meta(max_length=MAX_ID)]
"""``models.Name``: its pattern (no control character) holds for every string of a record ``decode_scrape`` reads."""
_Float = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
_Time = Annotated[str, msgspec.Meta(max_length=MAX_ID)]


class Sample(msgspec.Struct, frozen=True, gc=False):
    """One sample of a scrape, as ``models.MetricSample``."""

    name: _Text
    value: _Float
    unit: _Text = ""
    labels: Annotated[dict[_Text, _Text], msgspec.Meta(max_length=MAX_ITEMS)] = {}


class _WireScrape(msgspec.Struct, frozen=True, gc=False):
    target: _Name
    host: _Name
    observed_at: _Time
    interval_s: _Float
    samples: Annotated[tuple[Sample, ...], msgspec.Meta(max_length=MAX_ITEMS)]


class _WireEnvelope(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The CloudEvents envelope of ``events.Envelope``; each event's struct adds its ``type`` and ``data``."""

    id: _EventId
    source: Annotated[str, msgspec.Meta(max_length=MAX_ID)]
    time: _Time
    specversion: Literal["1.0"] = "1.0"
    subject: _Name | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: int = ev.SCHEMA_VERSION
    correlationid: _Id | None = None
    causationid: _Id | None = None


class _WireEvent(_WireEnvelope, frozen=True, gc=False, kw_only=True):
    type: Literal["dev.incidentctl.metrics.observed"]
    data: _WireScrape


class Scrape(msgspec.Struct, frozen=True, gc=False):
    """One scrape of one target (the fields of ``models.MetricsObserved``, times in UTC)."""

    target: str
    host: str
    observed_at: datetime
    interval_s: float
    samples: tuple[Sample, ...]
    values: Mapping[str, float]
    """``values_of(samples)``, taken while the samples are fresh in the cache (read for every scrape)."""


class NamedValue(Protocol):
    """A sample as ``values_of`` reads it (``Sample`` or ``models.MetricSample``)."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> float: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


def values_of(samples: Sequence[NamedValue]) -> dict[str, float]:
    """One value per metric name, preferring the unlabelled sample."""
    values: dict[str, float] = {}
    for sample in samples:
        if sample.labels:
            break
        values[sample.name] = sample.value
    else:
        return values  # no labelled sample (the common case): one pass
    values = {}
    for sample in sorted(samples, key=lambda s: bool(s.labels), reverse=True):
        values[sample.name] = sample.value
    return values


class ScrapeEvent(msgspec.Struct, frozen=True, gc=False):
    """A scrape event as the detector reads it: what it needs of ``events.MetricsObserved``."""

    id: str
    type: str
    time: datetime
    correlationid: str | None
    data: Scrape


_DECODER: Final = msgspec.json.Decoder(_WireEvent)


def decode_scrape(raw: bytes) -> ScrapeEvent | None:
    """The scrape event in ``raw`` if the schema certainly admits it with these values, else None (let it judge).

    The record times are not judged here (``edge.credible``).
    """
    if not _plain(raw):
        return None
    try:
        wire = _DECODER.decode(raw)
        data = wire.data
        observed_at = _utc(data.observed_at)
        time = observed_at if wire.time == data.observed_at else _utc(wire.time)  # the collector's are one
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, OverflowError):
        return None
    scrape = Scrape(data.target, data.host, observed_at, data.interval_s, data.samples, values_of(data.samples))
    return ScrapeEvent(wire.id, wire.type, time, wire.correlationid, scrape)


def _plain(raw: bytes) -> bool:
    """Whether ``raw`` holds no escape, no multi-byte text, no control character (JSON strings hold no other raw)."""
    return raw.isascii() and _BACKSLASH not in raw and _DEL not in raw


def _utc(text: str) -> datetime:
    """An RFC 3339 time with its zone, in UTC (ValueError for any other spelling: the schema judges those)."""
    if _TIME.fullmatch(text) is None:
        raise ValueError(text)
    return datetime.fromisoformat(text).astimezone(UTC)


class _WireAnomaly(msgspec.Struct, frozen=True, gc=False):
    anomaly_id: _Id
    fingerprint: _Text
    kind: AnomalyKind
    target: _Name
    signal: _Text
    impact: Impact
    score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    since: _Time
    last_seen: _Time
    summary: _Text
    host: _Name = ""
    observed: _Float | None = None
    expected: _Float | None = None
    threshold: _Float | None = None
    unit: _Text = ""
    direction: _Text = "up"
    revision: int = 1
    labels: Annotated[dict[_Text, _Text], msgspec.Meta(max_length=MAX_ITEMS)] = {}
    samples: Annotated[tuple[_Text, ...], msgspec.Meta(max_length=MAX_ITEMS)] = ()


class _WireAnomalyEvent(_WireEnvelope, frozen=True, gc=False, kw_only=True):
    type: Literal[
        "dev.incidentctl.anomaly.detected", "dev.incidentctl.anomaly.updated", "dev.incidentctl.anomaly.resolved"
    ]
    data: _WireAnomaly


class Anomaly(msgspec.Struct, frozen=True, gc=False):
    """One anomaly episode's revision (the fields of ``models.Anomaly``, times in UTC)."""

    anomaly_id: str
    fingerprint: str
    kind: AnomalyKind
    target: str
    host: str
    signal: str
    impact: Impact
    score: float
    observed: float | None
    expected: float | None
    threshold: float | None
    unit: str
    direction: str
    since: datetime
    last_seen: datetime
    revision: int
    summary: str
    labels: dict[str, str]
    samples: tuple[str, ...]


class AnomalyEvent(msgspec.Struct, frozen=True, gc=False):
    """An anomaly event as the responder reads it: what it needs of ``events.AnomalyEvent``."""

    id: str
    type: str
    time: datetime
    subject: str | None
    correlationid: str | None
    causationid: str | None
    data: Anomaly


_ANOMALY_DECODER: Final = msgspec.json.Decoder(_WireAnomalyEvent)


def decode_anomaly(raw: bytes) -> AnomalyEvent | None:
    """The anomaly event in ``raw`` if the schema certainly admits it with these values, else None (let it judge).

    As ``decode_scrape``; the record times are not judged here (``edge.credible``).
    """
    if not _plain(raw):
        return None
    try:
        wire = _ANOMALY_DECODER.decode(raw)
        data = wire.data
        since = _utc(data.since)
        last_seen = since if data.last_seen == data.since else _utc(data.last_seen)  # each spelling read once
        time = last_seen if wire.time == data.last_seen else since if wire.time == data.since else _utc(wire.time)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, OverflowError):
        return None
    anomaly = Anomaly(
        data.anomaly_id, data.fingerprint, data.kind, data.target, data.host, data.signal, data.impact, data.score,
        data.observed, data.expected, data.threshold, data.unit, data.direction, since, last_seen, data.revision,
        data.summary, data.labels, data.samples,
    )  # fmt: skip
    return AnomalyEvent(wire.id, wire.type, time, wire.subject, wire.correlationid, wire.causationid, anomaly)
