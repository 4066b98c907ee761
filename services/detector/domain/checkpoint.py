"""Checkpoint format of a target's detector state.

Format 2 (written): zlib over a header, the target's structured state as compact JSON (dataclass
fields as positional lists, no per-field names) and the numeric state of all its series as one raw
little-endian float64 block. Format 1 (compressed JSON with each series in base64) is still read,
so an upgrade keeps what the detector has learned.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
import zlib
from dataclasses import fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from services.detector.domain.anomaly import Score
from services.detector.domain.anomaly.pool import StatePool
from services.detector.domain.budget import BudgetState
from services.detector.domain.degradation import SIGNALS, Baseline
from services.detector.domain.episodes import EpisodeState
from services.detector.domain.rules import RuleState, is_quiet
from services.detector.domain.series import Hold
from services.detector.domain.target import DetectionConfig, TargetDetector
from services.detector.domain.tracker import dump_episode, load_episode
from shared.errors import DataError

FORMAT: Final = 2
_MAGIC: Final = b"TDc2"
_HEADER: Final = struct.Struct("<4sII")  # magic, length of the JSON part, floats per series


class CheckpointError(DataError, ValueError):
    """A checkpoint could not be read (corrupt, or written by an incompatible version)."""


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _rule_to_json(state: RuleState) -> dict[str, Any]:
    return {f: (_dt(v) if isinstance(v := getattr(state, f), datetime) else v) for f in state._fields}


def _rule_from_json(data: dict[str, Any]) -> RuleState:
    dates = {"breach_since", "active_since", "clear_since", "last_seen"}
    values: dict[str, Any] = {k: (_parse_dt(v) if k in dates else v) for k, v in data.items()}
    return RuleState(**values)


def _episode_state_from_json(data: dict[str, Any]) -> EpisodeState:
    peak = data.get("peak_score")
    return EpisodeState(**{**data, "peak_score": Score(**peak) if peak is not None else None})


def _row(value: Any) -> list[Any] | None:
    """A frozen dataclass as the list of its field values, in field order (None stays None)."""
    if value is None:
        return None
    return [_row(v) if isinstance(v, Score) else v for v in (getattr(value, f.name) for f in fields(value))]


def _signal_since_row(baseline: Baseline) -> list[dict[str, float]]:
    """The per-signal run starts, written only where one differs from the run's start (else nothing)."""
    if all(t == baseline.run_start for t in baseline.signal_since.values()):
        return []
    return [dict(baseline.signal_since)]


def _run_wide(run_start: float | None) -> dict[str, float]:
    """Per-signal starts of a checkpoint that has none: every signal dated from the run's start."""
    return {} if run_start is None else dict.fromkeys(SIGNALS, run_start)


def dumps_target(detector: TargetDetector) -> bytes:
    """Serialise everything ``detector`` has learned and every open episode (format 2)."""
    watches = sorted(detector.series.watches.values(), key=lambda w: w.index)
    baseline = detector.baseline
    doc = {
        "target": detector.target,
        "host": detector.host,
        "last_observed": _dt(detector.last_observed),
        "rules": {name: _rule_to_json(s) for name, s in detector.rules.items()},
        "series": [[w.metric, _row(w.episode), _row(w.hold), w.streak, _row(w.pending)] for w in watches],
        "baseline": [
            dict(baseline.log_mean),
            dict(baseline.counts),
            baseline.run_start,
            baseline.bad_streak,
            baseline.good_streak,
            baseline.degraded,
            *_signal_since_row(baseline),
        ],
        "perf_signal": detector.perf_signal,
        "budgets": {signal: _row(b) for signal, b in detector.budgets.items()},
        "episodes": {signal: dump_episode(e) for signal, e in detector.episodes.items()},
    }
    head = json.dumps(doc, separators=(",", ":")).encode()
    bank = detector.series.bank
    header = _HEADER.pack(_MAGIC, len(head), bank.state_rows)
    return zlib.compress(header + head + bank.dumps_all(), 1)


def loads_target(data: bytes, config: DetectionConfig, pool: StatePool | None = None) -> TargetDetector:
    """Rebuild a target's detector from ``dumps_target`` output (either format); raise CheckpointError if unreadable.

    ``pool``: where its statistical state goes (see `TargetDetector`).
    """
    try:
        raw = zlib.decompress(data)
        if raw.startswith(_MAGIC):
            return _loads_v2(raw, config, pool)
        return _loads_v1(json.loads(raw), config, pool)
    except (zlib.error, KeyError, TypeError, ValueError, IndexError, struct.error) as exc:
        raise CheckpointError(f"unreadable checkpoint: {type(exc).__name__}: {exc}") from exc


def _score(row: list[Any] | None) -> Score | None:
    return Score(*row) if row is not None else None


def _rules_from_json(doc: dict[str, Any]) -> dict[str, RuleState]:
    """The rule states a checkpoint holds, less quiet ones (written before quiet rules kept no state)."""
    states = ((name, _rule_from_json(s)) for name, s in doc.items())
    return {name: state for name, state in states if not is_quiet(state)}


def _loads_v2(raw: bytes, config: DetectionConfig, pool: StatePool | None) -> TargetDetector:
    _, head_len, rows = _HEADER.unpack_from(raw)
    doc = json.loads(raw[_HEADER.size : _HEADER.size + head_len])
    detector = TargetDetector(doc["target"], config, pool)
    detector.host = doc["host"]
    detector.last_observed = _parse_dt(doc["last_observed"])
    detector.rules = _rules_from_json(doc["rules"])
    for metric, episode, hold, streak, pending in doc["series"]:
        watch = detector.series.add(metric)
        since, peak, peak_score, last_active, last_emit, reported = episode
        watch.episode = EpisodeState(since, peak, _score(peak_score), last_active, last_emit, reported)
        watch.hold = Hold(*hold) if hold else None
        watch.streak = streak
        watch.pending = Hold(*pending) if pending else None
    with contextlib.suppress(ValueError):  # written under other detector settings: learn afresh
        detector.series.bank.loads_all(raw[_HEADER.size + head_len :], rows)
    log_mean, counts, run_start, bad, good, degraded, *rest = doc["baseline"]
    signal_since = MappingProxyType(rest[0] if rest else _run_wide(run_start))
    detector.baseline = Baseline(
        MappingProxyType(log_mean), MappingProxyType(counts), run_start, bad, good, degraded, signal_since
    )
    detector.perf_signal = doc["perf_signal"]
    detector.budgets = {sig: BudgetState(tuple(starts), *rest) for sig, (starts, *rest) in doc["budgets"].items()}
    detector.episodes = {sig: load_episode(*e) for sig, e in doc["episodes"].items()}
    return detector


def _loads_v1(doc: dict[str, Any], config: DetectionConfig, pool: StatePool | None) -> TargetDetector:
    """Read a format-1 checkpoint (compressed JSON, series in base64)."""
    if doc.get("format") != 1:
        raise CheckpointError(f"unknown checkpoint format {doc.get('format')!r}")
    detector = TargetDetector(doc["target"], config, pool)
    detector.host = doc["host"]
    detector.last_observed = _parse_dt(doc["last_observed"])
    detector.rules = _rules_from_json(doc["rules"])
    for metric, item in doc["series"].items():
        watch = detector.series.add(metric)
        with contextlib.suppress(ValueError):  # written under other detector settings: learn afresh
            detector.series.bank.loads_series(watch.index, base64.b64decode(item["detector"]))
        watch.episode = _episode_state_from_json(item["episode"])
        watch.hold = Hold(**item["hold"]) if item.get("hold") else None
        watch.streak = item.get("streak", 0)
        watch.pending = Hold(**item["pending"]) if item.get("pending") else None
    b = doc["baseline"]
    detector.baseline = Baseline(
        log_mean=MappingProxyType(b["log_mean"]),
        counts=MappingProxyType(b["counts"]),
        run_start=b["run_start"],
        bad_streak=b["bad_streak"],
        good_streak=b["good_streak"],
        degraded=b["degraded"],
        signal_since=MappingProxyType(_run_wide(b["run_start"])),
    )
    detector.perf_signal = doc.get("perf_signal")
    detector.budgets = {
        sig: BudgetState(**{**b, "starts": tuple(b["starts"])}) for sig, b in doc.get("budgets", {}).items()
    }
    detector.episodes = {
        sig: load_episode(e["anomaly"], e["last_evidence"], e.get("latest")) for sig, e in doc["episodes"].items()
    }
    return detector
