"""Prometheus text and OpenMetrics exposition: parse into series, relabel and select them (pure).

Parsing uses prometheus-client's parsers; whatever they raise on garbled input becomes one
``ExpositionError`` with a short reason, so a bad scrape is a scrape error, never a crash.
Relabelling follows Prometheus' ``metric_relabel_configs`` (``replace``, ``keep``, ``drop``,
``labeldrop``, ``labelkeep``; the metric name is the label ``__name__``; regexes are anchored).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from shared.errors import DataError

NAME_LABEL: Final = "__name__"
OPENMETRICS_TYPE: Final = "application/openmetrics-text"
ACCEPT: Final = f"{OPENMETRICS_TYPE};version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
"""What the collector asks for: OpenMetrics first, the Prometheus text format second."""

_DROPPED_SUFFIXES: Final = ("_created",)
_DOLLAR: Final = re.compile(r"\$(?:\{(\w+)\}|(\w+))")

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name (hashable)."""


class ExpositionError(DataError, ValueError):
    """An exposition that cannot be read; the message is a short reason safe to log (no URL, no body)."""

    def __init__(self, reason: str, kind: str = "unparseable") -> None:
        super().__init__(reason)
        self.kind = kind
        """A label value: ``unparseable``, ``too_many_series``, ``http_status``, ``too_large``, ``timeout``..."""


@dataclass(frozen=True, slots=True)
class Series:
    """One sample of a scrape: its name (with suffix: ``_total``, ``_bucket``...), labels, value, family type."""

    name: str
    labels: Labels
    value: float
    kind: str = "untyped"

    @property
    def key(self) -> tuple[str, Labels]:
        """The identity of the series across scrapes."""
        return self.name, self.labels

    def label(self, name: str, default: str = "") -> str:
        """Return one label's value (``default`` when absent)."""
        return next((v for k, v in self.labels if k == name), default)

    @property
    def cumulative(self) -> bool:
        """A counter-like sample whose increase is what matters (counters, histogram/summary count, sum, buckets)."""
        if self.kind == "counter":
            return True
        if self.kind in ("histogram", "summary"):
            return self.name.endswith(("_bucket", "_count", "_sum"))
        return False


def is_openmetrics(content_type: str) -> bool:
    """True when a response's content type is OpenMetrics (else the Prometheus text format is assumed)."""
    return content_type.split(";", 1)[0].strip().lower() == OPENMETRICS_TYPE


def parse_exposition(text: str, *, openmetrics: bool, max_series: int) -> tuple[Series, ...]:
    """Parse an exposition into series; raise ``ExpositionError`` if it is garbled or holds over ``max_series``.

    ``_created`` samples (creation times, not values) are left out, and so are non-finite values.
    """
    parse = openmetrics_families if openmetrics else text_families
    out: list[Series] = []
    try:
        for family in parse(text):
            kind = str(family.type)
            for sample in family.samples:
                if sample.name.endswith(_DROPPED_SUFFIXES) and kind != "gauge":
                    continue
                value = float(sample.value)
                if not math.isfinite(value) and not sample.name.endswith("_bucket"):
                    continue
                out.append(Series(sample.name, tuple(sorted(sample.labels.items())), value, kind))
                if len(out) > max_series:
                    raise ExpositionError(f"more than {max_series} series", "too_many_series")
    except ExpositionError:
        raise
    except Exception as exc:  # the parsers raise ValueError, IndexError, KeyError... on garbled input
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ExpositionError(f"unparseable {'OpenMetrics' if openmetrics else 'text'} exposition: {reason}") from exc
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RelabelRule:
    """One relabelling step, Prometheus' ``metric_relabel_configs`` entry."""

    action: Literal["replace", "keep", "drop", "labeldrop", "labelkeep"] = "replace"
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: str = "(.*)"
    target_label: str = ""
    replacement: str = "$1"

    @property
    def pattern(self) -> re.Pattern[str]:
        """The anchored regex."""
        return _compiled(self.regex)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(regex: str) -> re.Pattern[str]:
    found = _PATTERNS.get(regex)
    if found is None:
        found = _PATTERNS[regex] = re.compile(f"(?:{regex})\\Z")
    return found


def expand(match: re.Match[str], replacement: str) -> str:
    """Expand ``$1``, ``${1}``, ``$name`` in ``replacement`` from ``match`` (a missing group is empty)."""

    def group(m: re.Match[str]) -> str:
        ref = m.group(1) or m.group(2)
        try:
            return match.group(int(ref) if ref.isdigit() else ref) or ""
        except (IndexError, re.error):  # no such group
            return ""

    return _DOLLAR.sub(group, replacement)


def relabel_one(series: Series, rules: Sequence[RelabelRule]) -> Series | None:
    """Apply ``rules`` in order to one series; None when a rule drops it (or it loses its name)."""
    labels = dict(series.labels)
    labels[NAME_LABEL] = series.name
    for rule in rules:
        if rule.action in ("labeldrop", "labelkeep"):
            keep = rule.action == "labelkeep"
            labels = {k: v for k, v in labels.items() if k == NAME_LABEL or bool(rule.pattern.match(k)) == keep}
            continue
        value = rule.separator.join(labels.get(name, "") for name in rule.source_labels)
        match = rule.pattern.match(value)
        if (rule.action == "keep" and match is None) or (rule.action == "drop" and match is not None):
            return None
        if rule.action == "replace" and match is not None and rule.target_label:
            new = expand(match, rule.replacement)
            if new:
                labels[rule.target_label] = new
            else:
                labels.pop(rule.target_label, None)
    name = labels.pop(NAME_LABEL, "")
    if not name:
        return None
    return Series(name, tuple(sorted(labels.items())), series.value, series.kind)


def relabel(series: Iterable[Series], rules: Sequence[RelabelRule]) -> tuple[Series, ...]:
    """Apply ``rules`` to every series, leaving out the dropped ones."""
    if not rules:
        return tuple(series)
    return tuple(s for s in (relabel_one(x, rules) for x in series) if s is not None)


def selected(series: Iterable[Series], patterns: Sequence[str]) -> Iterator[Series]:
    """The series whose name fully matches one of ``patterns`` (regexes)."""
    compiled = [_compiled(p) for p in patterns]
    return (s for s in series if any(p.match(s.name) for p in compiled))
