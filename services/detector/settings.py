"""Detector settings: env (``DETECTOR_`` prefix, ``__`` for nesting) over the YAML file of ``IR_CONFIG_FILE``.

``profile: demo`` swaps the production defaults (the manual's minutes) for the demo stack's
seconds; any key set explicitly still wins over the profile.
"""

from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.detector.domain.anomaly import DetectorConfig
from services.detector.domain.budget import EpisodeBudget
from services.detector.domain.degradation import DegradationPolicy
from services.detector.domain.episodes import EpisodePolicy
from services.detector.domain.logmining.findings import FindingKind
from services.detector.domain.logmining.patterns import PatternConfig
from services.detector.domain.logwatch import LogWatchConfig
from services.detector.domain.perf import PerfConfig
from services.detector.domain.rules import DEFAULT_RULES, DEMO_RULES, ThresholdRule
from services.detector.domain.series import (
    DEFAULT_CRITICAL,
    DEFAULT_MIN_DELTA,
    DEFAULT_WATCHED,
    CriticalSeries,
    StatisticalConfig,
)
from services.detector.domain.target import DetectionConfig
from services.detector.domain.tracker import TrackerConfig
from shared.settings import MAX_RETENTION_S, ServiceSettings

Direction = Literal["up", "down"]


def _direction(value: str) -> Direction:
    return "down" if value == "down" else "up"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StatisticalSettings(_Section):
    """The streaming detector: which metrics, and when a score opens and holds an episode."""

    enabled: bool = True
    open_threshold: float = Field(0.5, ge=0, le=1)
    close_threshold: float = Field(0.3, ge=0, le=1)
    severe_ratio: float = Field(3.0, gt=1)
    watched: dict[str, Direction] = Field(
        default_factory=lambda: {k: _direction(v) for k, v in DEFAULT_WATCHED.items()}
    )
    min_delta: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIN_DELTA))
    critical: dict[str, CriticalSeries] = Field(
        default_factory=lambda: dict(DEFAULT_CRITICAL),
        description="watched series whose departure beyond ratio x the usual is a leak or data loss",
    )
    max_hold_s: float = Field(3600.0, ge=0, description="longest an adapted-to shift keeps an anomaly open")
    confirm_samples: int = Field(2, ge=1, description="unusual samples in a row before an anomaly is raised")
    detector: dict[str, float | int | bool] = Field(default_factory=dict, description="DetectorConfig overrides")
    max_episodes_per_day: int = Field(
        6, ge=0, description="statistical episodes one signal may open per day; beyond, merged and its threshold raised"
    )
    budget_threshold_step: float = Field(0.1, ge=0, le=1, description="open-threshold raise per merged burst")


class DegradationSettings(_Section):
    """Latency percentiles and throughput against the learned baseline."""

    enabled: bool = True
    latency_ratio: float = 1.5
    throughput_ratio: float = 0.5
    warmup_samples: int = 20
    baseline_alpha: float = 0.05
    confirm_samples: int = 2
    recover_samples: int = 3
    severe_ratio: float = 3.0
    min_latency_delta_ms: float = Field(50.0, ge=0, description="smallest slowdown reported, in ms")


class EpisodeSettings(_Section):
    """When an anomaly episode is updated and when it resolves."""

    close_delay_s: float = Field(120.0, ge=0)
    score_step: float = Field(0.2, gt=0)
    growth: float = Field(2.0, gt=1)


class LogSettings(_Section):
    """Log pattern analysis over Elasticsearch."""

    enabled: bool = False
    index_pattern: str = "application-logs*"
    timestamp_field: str = "@timestamp"
    message_field: str = "message"
    level_field: str = "level"
    service_field: str = "service"
    host_field: str = "host"
    poll_interval_s: float = Field(5.0, gt=0)
    lookback_s: float = Field(900.0, ge=0, description="where to start reading when no cursor was checkpointed")
    close_delay_s: float = Field(300.0, ge=0)
    report: list[FindingKind] = Field(
        default_factory=lambda: [FindingKind.NEW_TEMPLATE, FindingKind.RATE_SPIKE],
        description="finding kinds published; template_vanished is off: one-off lines were reported as vanished",
    )
    patterns: dict[str, float | int] = Field(default_factory=dict, description="PatternConfig overrides")
    critical_classes: bool = Field(
        True, description="templates of security, leak or data-loss words get the Critical impacts (domain/critical.py)"
    )


DEMO_PROFILE: dict[str, Any] = {
    "rules": [r.model_dump(mode="json") for r in DEMO_RULES],
    "statistical": {
        "detector": {"warmup_samples": 8},
        "max_hold_s": 300.0,
        "min_delta": {**DEFAULT_MIN_DELTA, "http.latency_p95_ms": 250.0},
    },
    "degradation": {"warmup_samples": 6, "min_latency_delta_ms": 250.0},
    "episodes": {"close_delay_s": 6.0},
    "checkpoint_interval_s": 0.0,
    "logs": {
        "enabled": True,
        "poll_interval_s": 1.0,
        "lookback_s": 60.0,
        "close_delay_s": 10.0,
        "patterns": {
            "bucket_seconds": 5,
            "learning_seconds": 15,
            "new_template_seconds": 30,
            "spike_min_count": 5,
            "vanish_min_buckets": 12,
        },
    },
}
"""Demo timings: seconds, a short warm-up, logs on."""


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _overrides(cls: type[Any], values: dict[str, Any], section: str) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{section}: unknown keys {unknown}; known: {sorted(names)}")
    return cls(**values)


MIN_TARGET_RETENTION_S: Final = 3600.0
"""The shortest retention of a silent target: six times the manual's longest scrape interval (10 minutes)."""


class DetectorSettings(ServiceSettings):
    """Settings of ``python -m services.detector``."""

    model_config = SettingsConfigDict(env_prefix="DETECTOR_", extra="ignore", env_nested_delimiter="__")
    service_name: ClassVar[str] = "detector"

    profile: Literal["production", "demo"] = "production"
    group_id: str = "detector"
    rules: list[ThresholdRule] = Field(default_factory=lambda: list(DEFAULT_RULES))
    statistical: StatisticalSettings = Field(default_factory=StatisticalSettings)
    degradation: DegradationSettings = Field(default_factory=DegradationSettings)
    episodes: EpisodeSettings = Field(default_factory=EpisodeSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    checkpoint: bool = Field(True, description="checkpoint per-target state to the compacted state topic")
    checkpoint_interval_s: float = Field(
        30.0, ge=0, description="min seconds between checkpoints of one target (episode changes are saved at once)"
    )
    target_retention_s: float = Field(
        86400.0,
        ge=0,
        le=MAX_RETENTION_S,
        description="a target with no scrape for this long (by its partition's newest scrape) is forgotten: its "
        "open anomalies resolved (resolved_by: retention), its checkpoint deleted; 0: never",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("profile") == "demo":
            return _merge(DEMO_PROFILE, data)
        return data

    @field_validator("target_retention_s")
    @classmethod
    def _check_target_retention(cls, value: float) -> float:
        if 0 < value < MIN_TARGET_RETENTION_S:
            raise ValueError(
                f"{value:g} s would forget a target scraped every 10 minutes between two scrapes; "
                f"use 0 (never) or at least {MIN_TARGET_RETENTION_S:g}"
            )
        return value

    @model_validator(mode="after")
    def _check_sections(self) -> DetectorSettings:
        _overrides(DetectorConfig, dict(self.statistical.detector), "statistical.detector")
        _overrides(PatternConfig, dict(self.logs.patterns), "logs.patterns")
        names = [r.name for r in self.rules]
        if len(names) != len(set(names)):
            raise ValueError(f"rules: names must be unique, got {names}")
        return self

    def detection(self) -> DetectionConfig:
        """Return the pure detection configuration these settings describe."""
        st, dg, ep = self.statistical, self.degradation, self.episodes
        return DetectionConfig(
            max_future_s=self.max_event_skew_s,
            rules=tuple(self.rules),
            statistical=StatisticalConfig(
                enabled=st.enabled,
                watched=MappingProxyType(dict(st.watched)),
                detector=_overrides(DetectorConfig, dict(st.detector), "statistical.detector"),
                episodes=EpisodePolicy(
                    open_threshold=st.open_threshold, close_threshold=st.close_threshold, close_after_s=0.0
                ),
                severe_ratio=st.severe_ratio,
                min_delta=MappingProxyType(dict(st.min_delta)),
                critical=MappingProxyType(dict(st.critical)),
                max_hold_s=st.max_hold_s,
                confirm_samples=st.confirm_samples,
                budget=EpisodeBudget(per_day=st.max_episodes_per_day, threshold_step=st.budget_threshold_step),
            ),
            perf=PerfConfig(
                enabled=dg.enabled,
                policy=DegradationPolicy(
                    latency_ratio=dg.latency_ratio,
                    throughput_ratio=dg.throughput_ratio,
                    warmup_samples=dg.warmup_samples,
                    baseline_alpha=dg.baseline_alpha,
                    confirm_samples=dg.confirm_samples,
                    recover_samples=dg.recover_samples,
                ),
                severe_ratio=dg.severe_ratio,
                min_latency_delta_ms=dg.min_latency_delta_ms,
            ),
            tracker=TrackerConfig(close_delay_s=ep.close_delay_s, score_step=ep.score_step, growth=ep.growth),
        )

    def log_watch(self) -> LogWatchConfig:
        """Return the pure log analysis configuration these settings describe."""
        lg, ep = self.logs, self.episodes
        return LogWatchConfig(
            patterns=_overrides(PatternConfig, dict(lg.patterns), "logs.patterns"),
            tracker=TrackerConfig(close_delay_s=lg.close_delay_s, score_step=ep.score_step, growth=ep.growth),
            report=frozenset(lg.report),
            critical_classes=lg.critical_classes,
        )
