"""Checkpoint format of a target's detector state: compressed JSON with the series blobs in base64."""

from __future__ import annotations

import base64
import contextlib
import json
import zlib
from dataclasses import asdict, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from services.detector.domain.anomaly import Score
from services.detector.domain.budget import BudgetState
from services.detector.domain.degradation import Baseline
from services.detector.domain.episodes import EpisodeState
from services.detector.domain.rules import RuleState
from services.detector.domain.series import Hold
from services.detector.domain.target import DetectionConfig, TargetDetector
from services.detector.domain.tracker import dump_episode, load_episode
from shared.errors import DataError

FORMAT: Final = 1


class CheckpointError(DataError, ValueError):
    """A checkpoint could not be read (corrupt, or written by an incompatible version)."""


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _rule_to_json(state: RuleState) -> dict[str, Any]:
    return {f.name: (_dt(v) if isinstance(v := getattr(state, f.name), datetime) else v) for f in fields(state)}


def _rule_from_json(data: dict[str, Any]) -> RuleState:
    dates = {"breach_since", "active_since", "clear_since", "last_seen"}
    values: dict[str, Any] = {k: (_parse_dt(v) if k in dates else v) for k, v in data.items()}
    return RuleState(**values)


def _episode_state_from_json(data: dict[str, Any]) -> EpisodeState:
    peak = data.get("peak_score")
    return EpisodeState(**{**data, "peak_score": Score(**peak) if peak is not None else None})


def dumps_target(detector: TargetDetector) -> bytes:
    """Serialise everything ``detector`` has learned and every open episode."""
    doc = {
        "format": FORMAT,
        "target": detector.target,
        "host": detector.host,
        "last_observed": _dt(detector.last_observed),
        "rules": {name: _rule_to_json(s) for name, s in detector.rules.items()},
        "series": {
            metric: {
                "detector": base64.b64encode(detector.series.bank.dumps_series(w.index)).decode(),
                "episode": asdict(w.episode),
                "hold": asdict(w.hold) if w.hold is not None else None,
                "streak": w.streak,
                "pending": asdict(w.pending) if w.pending is not None else None,
            }
            for metric, w in detector.series.watches.items()
        },
        "baseline": {
            "log_mean": dict(detector.baseline.log_mean),
            "counts": dict(detector.baseline.counts),
            "run_start": detector.baseline.run_start,
            "bad_streak": detector.baseline.bad_streak,
            "good_streak": detector.baseline.good_streak,
            "degraded": detector.baseline.degraded,
        },
        "perf_signal": detector.perf_signal,
        "budgets": {signal: asdict(b) for signal, b in detector.budgets.items()},
        "episodes": {
            signal: dict(zip(("anomaly", "last_evidence", "latest"), dump_episode(e), strict=True))
            for signal, e in detector.episodes.items()
        },
    }
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def loads_target(data: bytes, config: DetectionConfig) -> TargetDetector:
    """Rebuild a target's detector from ``dumps_target`` output; raise CheckpointError if unreadable."""
    try:
        doc = json.loads(zlib.decompress(data))
        if doc.get("format") != FORMAT:
            raise CheckpointError(f"unknown checkpoint format {doc.get('format')!r}")
        detector = TargetDetector(doc["target"], config)
        detector.host = doc["host"]
        detector.last_observed = _parse_dt(doc["last_observed"])
        detector.rules = {n: _rule_from_json(s) for n, s in doc["rules"].items()}
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
        )
        detector.perf_signal = doc.get("perf_signal")
        detector.budgets = {
            sig: BudgetState(**{**b, "starts": tuple(b["starts"])}) for sig, b in doc.get("budgets", {}).items()
        }
        detector.episodes = {
            sig: load_episode(e["anomaly"], e["last_evidence"], e.get("latest")) for sig, e in doc["episodes"].items()
        }
    except (zlib.error, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"unreadable checkpoint: {type(exc).__name__}: {exc}") from exc
    return detector
