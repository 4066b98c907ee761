"""Recurring time intervals (Alertmanager's ``time_intervals``) and maintenance windows scoped by label matchers.

A maintenance window mutes the anomalies its matchers select while one of its intervals holds; it is
checked where silences are (`silences.silencing`), so a window that ends frees what still fires
exactly as a silence that ends does. Whether a window is active at a time is a pure function.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS: Final = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
LABEL_ALIASES: Final = {"metric": "signal"}
"""Matcher names that stand for another label (``metric`` is the anomaly's ``signal``)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``; raise ``ValueError`` naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin or UTC)") from exc


def _minutes(text: str) -> int:
    match = re.fullmatch(r"([01]?\d|2[0-4]):([0-5]\d)", text.strip())
    if match is None or (int(match[1]) == 24 and int(match[2]) != 0):
        raise ValueError(f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    return int(match[1]) * 60 + int(match[2])


class TimeRange(_Frozen):
    """A time of day range ``[start_time, end_time)``, e.g. ``09:00``-``17:00`` (``24:00`` ends the day)."""

    start_time: str
    end_time: str

    @field_validator("start_time", "end_time")
    @classmethod
    def _is_time(cls, value: str) -> str:
        _minutes(value)
        return value

    @property
    def minutes(self) -> tuple[int, int]:
        """The range as minutes since midnight, start inclusive, end exclusive."""
        return _minutes(self.start_time), _minutes(self.end_time)


def _number(part: str, names: tuple[str, ...], lo: int, hi: int, what: str) -> int:
    part = part.strip().lower()
    if part in names:
        return names.index(part) + lo
    try:
        value = int(part)
    except ValueError:
        raise ValueError(f"{part!r} is not a {what}") from None
    if not (lo <= value <= hi or (what == "day of month" and -31 <= value <= -1)):
        raise ValueError(f"{value} is out of range for a {what}")
    return value


def _ranges(items: tuple[str, ...], names: tuple[str, ...], lo: int, hi: int, what: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for item in items:
        first, _, last = str(item).partition(":")
        a = _number(first, names, lo, hi, what)
        b = _number(last, names, lo, hi, what) if last else a
        if (a >= 0) == (b >= 0) and a > b:
            raise ValueError(f"{item!r}: the range ends before it starts")
        out.append((a, b))
    return tuple(out)


class TimeInterval(_Frozen):
    """One recurring interval: every field given must match (an empty field matches anything).

    ``weekdays`` (``monday:friday``, ``saturday``), ``days_of_month`` (``1:7``, ``-1`` the last day),
    ``months`` (``january:march``, ``12``), ``years`` (``2026:2027``), ``times`` (ranges of the day), all
    read in ``location`` (an IANA time zone, default UTC), as Alertmanager's ``time_intervals``.
    """

    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[str, ...] = ()
    days_of_month: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    location: str = "UTC"

    @field_validator("location")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _ranges(value, WEEKDAYS, 1, 7, "weekday")
        return value

    @field_validator("days_of_month")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _ranges(value, (), 1, 31, "day of month")
        return value

    @field_validator("months")
    @classmethod
    def _months(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _ranges(value, MONTHS, 1, 12, "month")
        return value

    @field_validator("years")
    @classmethod
    def _years(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _ranges(value, (), 1, 9999, "year")
        return value

    @cached_property
    def _parsed(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        return (
            _ranges(self.weekdays, WEEKDAYS, 1, 7, "weekday"),
            _ranges(self.days_of_month, (), 1, 31, "day of month"),
            _ranges(self.months, MONTHS, 1, 12, "month"),
            _ranges(self.years, (), 1, 9999, "year"),
        )

    def contains(self, at: datetime) -> bool:
        """Return True if ``at`` (an aware time) falls inside this interval."""
        local = at.astimezone(zone(self.location))
        weekdays, days, months, years = self._parsed
        if weekdays and not any(a <= local.isoweekday() <= b for a, b in weekdays):
            return False
        if days and not any(_day_in(local, a, b) for a, b in days):
            return False
        if months and not any(a <= local.month <= b for a, b in months):
            return False
        if years and not any(a <= local.year <= b for a, b in years):
            return False
        minute = local.hour * 60 + local.minute
        return not self.times or any(a <= minute < b for a, b in (t.minutes for t in self.times))


def _day_in(local: datetime, a: int, b: int) -> bool:
    """Day-of-month range with negative days counted from the month's end (-1 is the last day)."""
    length = calendar.monthrange(local.year, local.month)[1]
    lo = a if a > 0 else length + 1 + a
    hi = b if b > 0 else length + 1 + b
    return lo <= local.day <= hi


MatcherOp = Literal["=", "!=", "=~", "!~"]
_MATCHER: Final = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class Matcher(_Frozen):
    """A label matcher: ``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex`` (anchored)."""

    name: str
    op: MatcherOp
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Parse ``service=~api|web`` (quotes around the value are optional)."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(f"{text!r} is not a matcher (name=value, name!=value, name=~regex, name!~regex)")
        name, op, value = found[1], found[2], found[3]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        matcher = cls(name=name, op=op, value=value)
        matcher.check()
        return matcher

    def check(self) -> None:
        """Raise ``ValueError`` if a regular expression does not compile."""
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"{self.name}{self.op}{self.value}: bad regular expression: {exc}") from None

    def fits(self, labels: Mapping[str, str]) -> bool:
        """Return True if ``labels`` satisfy this matcher (a missing label is the empty string)."""
        value = labels.get(LABEL_ALIASES.get(self.name, self.name), labels.get(self.name, ""))
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def _parse_matchers(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(Matcher.parse(v) if isinstance(v, str) else v for v in value)
    return value


class MaintenanceWindow(_Frozen):
    """A named recurring window: anomalies whose labels fit every matcher raise no incident during it.

    ``matchers`` are strings such as ``service=checkout``, ``target=~db-.*``, ``metric=cpu_percent``
    (the anomaly's signal), ``severity!=critical`` (matched on the anomaly's labels); at least one is
    required, so a window never mutes everything. ``time_intervals``: the window holds while any holds.
    """

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    matchers: tuple[Matcher, ...] = Field(min_length=1)
    time_intervals: tuple[TimeInterval, ...] = Field(min_length=1)
    reason: str = ""

    @field_validator("matchers", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return _parse_matchers(value)

    @field_validator("matchers")
    @classmethod
    def _regexes_compile(cls, value: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
        for matcher in value:
            matcher.check()
        return value

    @property
    def silence_id(self) -> str:
        """The id the window is known by where silences are (``window:<name>``)."""
        return f"window:{self.name}"


def window_active(window: MaintenanceWindow, at: datetime) -> bool:
    """Return True if one of the window's intervals holds at ``at``."""
    return any(interval.contains(at) for interval in window.time_intervals)


def window_mutes(window: MaintenanceWindow, labels: Mapping[str, str], at: datetime) -> bool:
    """Return True if the window is active at ``at`` and every matcher fits ``labels``."""
    return window_active(window, at) and all(m.fits(labels) for m in window.matchers)
