"""Checks at the consuming edge beyond the schema: event times must agree with the broker's record time.

The schema (``shared.models``) already rejects zone-less times, NaN/Infinity and oversized values.
What it cannot know is *when* a record was written: an event dated 9999-01-01 is well formed, yet
one such scrape would blind the detector for that target forever. So every time that states when
something was observed must not lie further in the future than ``max_future`` from the record's
broker timestamp (and from the consumer's own clock). Past times are legitimate (replays, backfills,
re-driven dead letters), so they are bounded only when ``max_age`` is set.

Times that may lawfully be in the future (a silence's window, a hold's end) are not checked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError

from shared import events as ev
from shared import models as m

OBSERVATION_FIELDS: Final = (
    "observed_at",
    "since",
    "last_seen",
    "opened_at",
    "updated_at",
    "severity_since",
    "cleared_at",
    "window_start",
    "window_end",
)
"""Payload fields that tell when something was seen or happened (never in the future)."""

E = TypeVar("E", bound=ev.Event)
E_co = TypeVar("E_co", bound=ev.Event, covariant=True)


def record_time(record_time_ms: int | None) -> datetime | None:
    """Return the broker timestamp of a record (milliseconds since the epoch) as a UTC datetime."""
    if record_time_ms is None or record_time_ms < 0:
        return None
    return datetime.fromtimestamp(record_time_ms / 1000, UTC)


def check_record_time(
    event_time: datetime,
    record_time_ms: int | None,
    *,
    max_skew: timedelta,
    max_age: timedelta | None = None,
) -> str | None:
    """Return why ``event_time`` is not credible for a record written at ``record_time_ms``, or None.

    Rejected: a zone-less time, a time more than ``max_skew`` after the record's time, and (when
    ``max_age`` is set) a time more than ``max_age`` before it. Without a record time nothing is judged.
    """
    if event_time.tzinfo is None:
        return "time has no timezone"
    written = record_time(record_time_ms)
    if written is None:
        return None
    if event_time - written > max_skew:
        return (
            f"time {event_time.isoformat()} is {_ahead(event_time, written)} after the record's {written.isoformat()}"
        )
    if max_age is not None and written - event_time > max_age:
        return f"time {event_time.isoformat()} is older than {max_age} before the record's {written.isoformat()}"
    return None


def observation_times(event: ev.Event) -> Iterator[tuple[str, datetime]]:
    """Yield ``(field, time)`` for the envelope's time and every observation time of its payload."""
    yield "time", event.time
    yield from _payload_times(event.data, "data")


def check_event(
    event: ev.Event,
    record_time_ms: int | None,
    *,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None = None,
) -> str | None:
    """Return the first reason ``event`` must be dead-lettered at the edge, or None if it may pass.

    Each observation time is judged against the record's broker time and against ``now`` (the
    consumer's clock), so a record without a broker time, or a producer that forged one far ahead,
    is still caught.
    """
    if credible((event.time, *_moments(event.data)), record_time_ms, now=now, max_skew=max_skew, max_age=max_age):
        return None  # the common case, judged without building a reason; the loop below words the first failure
    now_ms = int(now.timestamp() * 1000)
    for name, moment in observation_times(event):
        for reference in (record_time_ms, now_ms):
            reason = check_record_time(moment, reference, max_skew=max_skew, max_age=None)
            if reason is not None:
                return f"{name}: {reason}"
        if max_age is not None:
            reason = check_record_time(moment, record_time_ms, max_skew=max_skew, max_age=max_age)
            if reason is not None:
                return f"{name}: {reason}"
    return None


@dataclass(frozen=True, slots=True)
class Admitted(Generic[E_co]):
    """A record the edge lets through, parsed."""

    event: E_co


@dataclass(frozen=True, slots=True)
class Refused:
    """A record the edge refuses, and why (the dead letter's reason)."""

    reason: str


def admit(
    raw: bytes,
    record_time_ms: int | None,
    *,
    allowed: tuple[type[E], ...],
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None = None,
) -> Admitted[E] | Refused:
    """Judge one consumed record: schema, event type allowed on the topic, credible times. Never raises.

    ``allowed`` is the topic's event classes (``Topic.events``). Every record ends up either
    admitted as a valid event or refused with a reason for its dead letter.
    """
    try:
        event = ev.parse_event(raw)
    except ValidationError as exc:
        return Refused(f"invalid event: {_summarise(exc)}")
    except (ValueError, TypeError, RecursionError) as exc:  # defensive: pydantic reports bad JSON as ValidationError
        return Refused(f"unreadable record: {type(exc).__name__}")
    return admit_event(event, record_time_ms, allowed=allowed, now=now, max_skew=max_skew, max_age=max_age)


def admit_event(
    event: ev.Event,
    record_time_ms: int | None,
    *,
    allowed: tuple[type[E], ...],
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None = None,
) -> Admitted[E] | Refused:
    """Judge one parsed event as ``admit`` does: event type allowed on the topic, credible times."""
    if not isinstance(event, allowed):
        return Refused(f"event type {event.type} does not belong on this topic")
    reason = check_event(event, record_time_ms, now=now, max_skew=max_skew, max_age=max_age)
    return Refused(reason) if reason is not None else Admitted(event)


def _summarise(exc: ValidationError) -> str:
    errs = exc.errors()[:3]
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in errs)[:1000]


def credible(
    moments: Iterable[datetime],
    record_time_ms: int | None,
    *,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None = None,
) -> bool:
    """Whether ``check_event`` finds nothing wrong with an event whose observation times are ``moments``.

    ``moments``: the envelope's time and every observation time of the payload (``observation_times``).
    """
    return credible_at(now, max_skew=max_skew, max_age=max_age)(moments, record_time_ms)


def credible_at(
    now: datetime, *, max_skew: timedelta, max_age: timedelta | None = None
) -> Callable[[Iterable[datetime], int | None], bool]:
    """``credible`` at ``now`` for many records (a fetched batch's): the clock is read and converted once."""
    seen = record_time(int(now.timestamp() * 1000))

    def judge(moments: Iterable[datetime], record_time_ms: int | None) -> bool:
        written = record_time(record_time_ms)
        for moment in moments:
            if moment.tzinfo is None:
                return False
            if written is not None and (
                moment - written > max_skew or (max_age is not None and written - moment > max_age)
            ):
                return False
            if seen is not None and moment - seen > max_skew:
                return False
        return True

    return judge


def _moments(value: m.Payload) -> Iterator[datetime]:
    """The times ``_payload_times`` yields, without their paths."""
    for name, observed in _time_fields(type(value)):
        field = getattr(value, name)
        if observed and isinstance(field, datetime):
            yield field
        elif isinstance(field, m.Payload):
            yield from _moments(field)


def _payload_times(value: object, path: str) -> Iterator[tuple[str, datetime]]:
    if isinstance(value, m.Payload):
        for name, observed in _time_fields(type(value)):
            field = getattr(value, name)
            if observed and isinstance(field, datetime):
                yield f"{path}.{name}", field
            elif isinstance(field, m.Payload):
                yield from _payload_times(field, f"{path}.{name}")


@functools.cache
def _time_fields(cls: type[m.Payload]) -> tuple[tuple[str, bool], ...]:
    """(name, is an observation field) of the fields of ``cls`` that may hold an observation time or a payload.

    The others (strings, numbers, enums, containers of them) can hold neither, so skipping them
    changes nothing; an annotation this cannot read counts as one that may hold a payload.
    """
    return tuple(
        (name, name in OBSERVATION_FIELDS)
        for name, info in cls.model_fields.items()
        if name in OBSERVATION_FIELDS or _may_hold_payload(info.annotation)
    )


def _may_hold_payload(annotation: object) -> bool:
    if annotation is Ellipsis or annotation is None or annotation is type(None):
        return False
    if isinstance(annotation, type) and not get_args(annotation):
        return issubclass(annotation, BaseModel)
    origin = get_origin(annotation)
    if origin is Literal:
        return False
    args = get_args(annotation)
    if origin is Annotated:
        return _may_hold_payload(args[0])
    return not args or any(_may_hold_payload(arg) for arg in args)


def _ahead(later: datetime, earlier: datetime) -> str:
    seconds = (later - earlier).total_seconds()
    return f"{seconds / 86400:.0f} days" if seconds >= 86400 else f"{seconds:.0f} s"
