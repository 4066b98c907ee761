"""Collector settings: targets to watch, cadence, log shipping (env ``COLLECTOR_*`` or the YAML file)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.collector.domain.cadence import Intervals
from services.collector.exposition_config import ExpositionConfig
from shared.settings import ServiceSettings


class TargetConfig(BaseModel):
    """A watched service: how to find its process, where to probe it, which logs to ship."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="target name used in events and incidents")
    url: str | None = Field(None, description="HTTP URL probed at each scrape")
    pidfile: Path | None = Field(None, description="file holding the process id")
    process_name: str | None = Field(None, description="else: process name, or a substring of its command line")
    log_files: tuple[Path, ...] = ()
    probes_per_scrape: int = Field(5, ge=1, le=100)
    exposition: tuple[ExpositionConfig, ...] = Field(
        (), max_length=16, description="Prometheus text / OpenMetrics endpoints scraped with the target"
    )

    @model_validator(mode="after")
    def _something_to_watch(self) -> TargetConfig:
        if not self.scraped and not self.log_files:
            raise ValueError(f"target {self.name!r} needs a url, a pidfile, a process_name, log_files or exposition")
        names = [e.name for e in self.exposition]
        if len(names) != len(set(names)):
            raise ValueError(f"exposition endpoint names of target {self.name!r} must be unique: {names}")
        return self

    @property
    def scraped(self) -> bool:
        """Whether the target has anything to scrape (log files alone are only shipped)."""
        return any((self.url, self.pidfile, self.process_name, self.exposition))


class IntervalsConfig(BaseModel):
    """Scrape intervals in seconds; defaults are the operations manual's (5 min, 1 min, 10 min for 30 min)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    normal_s: float = Field(300.0, gt=0)
    incident_s: float = Field(60.0, gt=0)
    post_recovery_s: float = Field(600.0, gt=0)
    post_recovery_duration_s: float = Field(1800.0, ge=0)

    def to_domain(self) -> Intervals:
        """Return the cadence core's value object."""
        return Intervals(self.normal_s, self.incident_s, self.post_recovery_s, self.post_recovery_duration_s)


class CollectorSettings(ServiceSettings):
    """Settings of the collector service."""

    model_config = SettingsConfigDict(env_prefix="COLLECTOR_", extra="ignore", env_nested_delimiter="__")
    service_name: ClassVar[str] = "collector"

    targets: tuple[TargetConfig, ...] = ()
    intervals: IntervalsConfig = IntervalsConfig()
    host_name: str | None = Field(None, description="host name in events (default: this machine's)")
    scrape_host: bool = True
    disk_path: str = "/"
    probe_timeout_s: float = Field(5.0, gt=0)
    group_id: str | None = Field(None, description="consumer group prefix (default: collector-<host>)")
    ship_logs: bool = True
    log_index_prefix: str = "application-logs"
    log_state_dir: Path = Path(".collector-state")
    log_poll_s: float = Field(0.5, gt=0, description="how often log files are checked for new lines")
    log_multiline_idle_s: float = Field(1.0, ge=0, description="a trace is complete after this long without lines")
    log_batch_max: int = Field(500, ge=1)
    log_retry_initial_s: float = Field(0.5, gt=0)
    log_retry_max_s: float = Field(30.0, gt=0)
    watch_stages: bool = Field(True, description="raise an incident when a pipeline stage misses its heartbeats")
    stage_missed_beats: float = Field(3.0, gt=1, description="silent after this many heartbeat intervals")
    stage_lag_beats: int = Field(3, ge=2, description="falling behind: lag rising over this many heartbeats")
    stage_min_lag: int = Field(100, ge=1, description="... and at least this many records behind")
    fallback_webhook_url: str | None = Field(None, description="paged directly when the responder falls silent")
    fallback_webhook_secret: SecretStr | None = Field(None, description="HMAC key of the fallback webhook (env)")

    @model_validator(mode="after")
    def _unique_targets(self) -> CollectorSettings:
        names = [t.name for t in self.targets]
        if len(names) != len(set(names)):
            raise ValueError(f"target names must be unique: {names}")
        return self
