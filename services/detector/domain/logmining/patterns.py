"""Log pattern analysis: per-template rate baselines -> new, spiking and vanished template findings.

Counts are kept per (service, template) in fixed time buckets (`bucket_seconds`).  When a bucket
closes, its count updates an exponentially weighted mean and variance (the baseline) and an EWMA of
"was the template present in this bucket" (its regularity).  Three findings come out of that:

* `NewTemplate`: a template first seen once the analyzer has learned for `learning_seconds`; it stays
  open (collecting counts and samples) for `new_template_seconds`.
* `RateSpike`: an ERROR/WARN template whose count in the current bucket reaches
  max(`spike_min_count`, `spike_factor` x baseline, baseline + `spike_sigmas` x std).  Consecutive hot
  buckets are one burst, one finding; the baseline is frozen while the burst lasts.
* `TemplateVanished`: a template present in at least `vanish_min_presence` of its buckets (EWMA, with
  `vanish_min_buckets` of history) that has been absent `vanish_after_buckets` buckets.  It closes
  when the template comes back.

A finding is emitted when it opens, again each time its count doubles, and once when it closes: one
burst is one finding id, updated a handful of times, never one finding per line.  Time is passed in:
record timestamps for counting, `now` for closing buckets and noticing silence.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

from services.detector.domain.logmining.findings import (
    FindingKind,
    LogFinding,
    NewTemplate,
    RateSpike,
    TemplatedRecord,
    TemplateVanished,
)

_MAX_GAP_STEPS: Final = 10_000
_Head = tuple[str, FindingKind, str, str, str, str, datetime, datetime, int, tuple[str, ...], bool]


@dataclass(frozen=True, slots=True)
class PatternConfig:
    """Settings of pattern analysis; defaults suit minute-scale service logs."""

    bucket_seconds: float = 60.0
    learning_seconds: float = 600.0
    new_template_seconds: float = 300.0
    baseline_alpha: float = 0.1
    spike_min_count: int = 10
    spike_factor: float = 3.0
    spike_sigmas: float = 4.0
    spike_levels: frozenset[str] = frozenset({"ERROR", "WARN", "WARNING", "CRITICAL", "FATAL", "SEVERE"})
    vanish_min_buckets: int = 10
    vanish_min_presence: float = 0.8
    vanish_after_buckets: int = 5
    max_samples: int = 5
    max_tracked: int = 10_000


@dataclass(slots=True)
class _Stats:
    """Counting state of one (service, template)."""

    record: TemplatedRecord
    first_seen: float
    last_seen: float
    bucket: int
    in_bucket: int = 0
    total: int = 0
    mean: float = 0.0
    var: float = 0.0
    presence: float = 0.0
    regularity: float = 0.0
    history: int = 0
    findings: dict[FindingKind, LogFinding] = field(default_factory=dict)
    emitted_at: dict[FindingKind, int] = field(default_factory=dict)


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class PatternAnalyzer:
    """Maintains template rate baselines and turns deviations into grouped findings."""

    def __init__(self, config: PatternConfig | None = None) -> None:
        self.config = config or PatternConfig()
        self._stats: OrderedDict[tuple[str, str], _Stats] = OrderedDict()
        self._started: float | None = None

    def observe(self, record: TemplatedRecord) -> list[LogFinding]:
        """Count one templated record; return findings that opened or grew because of it."""
        cfg = self.config
        ts = record.timestamp.timestamp()
        if self._started is None:
            self._started = ts
        key = (record.service, record.template_id)
        bucket = math.floor(ts / cfg.bucket_seconds)
        stats = self._stats.get(key)
        out: list[LogFinding] = []
        if stats is None:
            stats = _Stats(record, ts, ts, bucket)
            self._track(key, stats)
            if ts - self._started >= cfg.learning_seconds:
                self._open_new(stats, ts, out)
        else:
            self._stats.move_to_end(key)
            out.extend(self._close_buckets(stats, bucket))
            vanished = stats.findings.get(FindingKind.TEMPLATE_VANISHED)
            if vanished is not None:
                out.append(replace(vanished, window_end=_dt(ts), is_open=False))
                del stats.findings[FindingKind.TEMPLATE_VANISHED]
        stats.record = record
        stats.last_seen = max(stats.last_seen, ts)
        stats.in_bucket += 1
        stats.total += 1
        new = stats.findings.get(FindingKind.NEW_TEMPLATE)
        if new is not None and stats.total > 1:
            self._grow(stats, new, record, ts, out)
        spike = stats.findings.get(FindingKind.RATE_SPIKE)
        if spike is not None:
            self._grow(stats, spike, record, ts, out)
        elif new is None and self._is_hot(stats):
            self._open_spike(stats, ts, out)
        return out

    def tick(self, now: datetime) -> list[LogFinding]:
        """Close buckets that ended before `now`; report silences and expired findings."""
        cfg = self.config
        t = now.timestamp()
        bucket = math.floor(t / cfg.bucket_seconds)
        out: list[LogFinding] = []
        for stats in self._stats.values():
            out.extend(self._close_buckets(stats, bucket))
            new = stats.findings.get(FindingKind.NEW_TEMPLATE)
            if new is not None and t - stats.first_seen >= cfg.new_template_seconds:
                out.append(replace(new, is_open=False))
                del stats.findings[FindingKind.NEW_TEMPLATE]
            silent_buckets = (t - stats.last_seen) / cfg.bucket_seconds
            if (
                FindingKind.TEMPLATE_VANISHED not in stats.findings
                and silent_buckets >= cfg.vanish_after_buckets
                and stats.history >= cfg.vanish_min_buckets
                and stats.regularity >= cfg.vanish_min_presence
            ):
                self._emit(stats, self._vanished(stats, t), out)
        return out

    # -- internals --------------------------------------------------------------------------------

    def _track(self, key: tuple[str, str], stats: _Stats) -> None:
        self._stats[key] = stats
        if len(self._stats) > self.config.max_tracked:
            self._stats.popitem(last=False)

    def _threshold(self, stats: _Stats) -> float:
        cfg = self.config
        spread = stats.mean + cfg.spike_sigmas * math.sqrt(stats.var)
        return max(cfg.spike_min_count, cfg.spike_factor * stats.mean, spread)

    def _is_hot(self, stats: _Stats) -> bool:
        if stats.record.level.upper() not in self.config.spike_levels:
            return False
        return stats.in_bucket >= self._threshold(stats)

    def _close_buckets(self, stats: _Stats, bucket: int) -> list[LogFinding]:
        """Fold the finished buckets of `stats` (up to, not including, `bucket`) into its baseline."""
        if bucket <= stats.bucket:
            return []
        out: list[LogFinding] = []
        spike = stats.findings.get(FindingKind.RATE_SPIKE)
        if spike is not None and (stats.in_bucket < self._threshold(stats) or bucket > stats.bucket + 1):
            out.append(replace(spike, is_open=False))
            del stats.findings[FindingKind.RATE_SPIKE]
        elif spike is None:
            self._learn(stats, stats.in_bucket)
        steps = min(bucket - stats.bucket - 1, _MAX_GAP_STEPS)
        for _ in range(steps):
            self._learn(stats, 0)
        stats.bucket = bucket
        stats.in_bucket = 0
        return out

    def _learn(self, stats: _Stats, count: int) -> None:
        a = self.config.baseline_alpha
        if stats.history == 0:
            stats.mean, stats.var, stats.presence = float(count), 0.0, float(count > 0)
        else:
            diff = count - stats.mean
            stats.mean += a * diff
            stats.var = (1 - a) * (stats.var + a * diff * diff)
            stats.presence += a * (float(count > 0) - stats.presence)
        stats.history += 1
        if count > 0:
            stats.regularity = stats.presence  # presence as of the last occurrence

    def _head(self, stats: _Stats, kind: FindingKind, start: float, end: float, count: int) -> _Head:
        """Return the common `LogFinding` fields, in declaration order."""
        rec = stats.record
        finding_id = f"{kind.value}:{rec.service}:{rec.template_id}:{int(start)}"
        return (
            finding_id, kind, rec.service, rec.level, rec.template_id, rec.template,
            _dt(start), _dt(end), count, (rec.message,), True,
        )  # fmt: skip

    def _vanished(self, stats: _Stats, now: float) -> TemplateVanished:
        head = self._head(stats, FindingKind.TEMPLATE_VANISHED, stats.last_seen, now, stats.total)
        return TemplateVanished(*head, presence=stats.regularity)

    def _open_new(self, stats: _Stats, ts: float, out: list[LogFinding]) -> None:
        self._emit(stats, NewTemplate(*self._head(stats, FindingKind.NEW_TEMPLATE, ts, ts, 1)), out)

    def _open_spike(self, stats: _Stats, ts: float, out: list[LogFinding]) -> None:
        start = stats.bucket * self.config.bucket_seconds
        head = self._head(stats, FindingKind.RATE_SPIKE, start, ts, stats.in_bucket)
        spike = RateSpike(
            *head,
            baseline_per_bucket=stats.mean,
            peak_per_bucket=stats.in_bucket,
            bucket_seconds=self.config.bucket_seconds,
        )
        self._emit(stats, spike, out)

    def _emit(self, stats: _Stats, finding: LogFinding, out: list[LogFinding]) -> None:
        stats.findings[finding.kind] = finding
        stats.emitted_at[finding.kind] = finding.count
        out.append(finding)

    def _grow(self, stats: _Stats, finding: LogFinding, rec: TemplatedRecord, ts: float, out: list[LogFinding]) -> None:
        samples = finding.samples
        if len(samples) < self.config.max_samples:
            samples = (*samples, rec.message)
        end = _dt(max(ts, finding.window_end.timestamp()))
        grown = replace(finding, count=finding.count + 1, window_end=end, samples=samples)
        if isinstance(grown, RateSpike):
            grown = replace(grown, peak_per_bucket=max(grown.peak_per_bucket, stats.in_bucket))
        stats.findings[finding.kind] = grown
        if grown.count >= 2 * stats.emitted_at.get(finding.kind, 1):
            stats.emitted_at[finding.kind] = grown.count
            out.append(grown)
