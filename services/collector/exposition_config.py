"""A target's exposition endpoints in the collector's config: URL, limits, relabelling, selection, mappings."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.collector.domain.exposition import RelabelRule
from services.collector.domain.signals import HttpOptions, NodeOptions, SignalOptions

LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
ENDPOINT_NAME = r"^[a-zA-Z0-9_.-]{1,64}$"


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    return value


class RelabelConfig(BaseModel):
    """One ``metric_relabel_configs`` step, as in Prometheus (``__name__`` is the metric name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["replace", "keep", "drop", "labeldrop", "labelkeep"] = "replace"
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: str = "(.*)"
    target_label: str | None = Field(None, pattern=LABEL_NAME)
    replacement: str = "$1"

    @field_validator("regex")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _regex(value)

    @field_validator("source_labels")
    @classmethod
    def _label_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not re.match(LABEL_NAME, v)]
        if bad:
            raise ValueError(f"not label names: {bad}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> RelabelConfig:
        if self.action == "replace" and not self.target_label:
            raise ValueError("action 'replace' needs a target_label")
        if self.action in ("keep", "drop") and not self.source_labels:
            raise ValueError(f"action {self.action!r} needs source_labels")
        return self

    def to_domain(self) -> RelabelRule:
        """Return the pure relabelling step."""
        return RelabelRule(
            self.action, self.source_labels, self.separator, self.regex, self.target_label or "", self.replacement
        )


class NodeSignalsConfig(BaseModel):
    """node-exporter series -> host signals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disk_mountpoint: str = Field("/", min_length=1, description="file system whose fill level is host.disk_percent")
    net_exclude_devices: str = Field("lo", description="regex of network devices left out of the rates")

    @field_validator("net_exclude_devices")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _regex(value)


class HttpSignalsConfig(BaseModel):
    """An application's request counter and latency histogram -> throughput, error rate, latency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: str = Field("http_requests_total", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="request counter")
    status_labels: tuple[str, ...] = Field(("status", "code", "status_code"), min_length=1)
    error_status: str = Field("5..", description="regex: a request whose status fully matches it failed")
    latency: str = Field(
        "http_request_duration_seconds", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="histogram (no suffix)"
    )
    latency_unit: Literal["seconds", "milliseconds"] = "seconds"

    @field_validator("error_status")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        return _regex(value)

    def to_domain(self) -> HttpOptions:
        """Return the pure mapping options."""
        scale = 1000.0 if self.latency_unit == "seconds" else 1.0
        return HttpOptions(self.requests, self.status_labels, self.error_status, self.latency, scale)


class ExpositionConfig(BaseModel):
    """One Prometheus text / OpenMetrics endpoint of a target (an exporter or an application's /metrics)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s]+$", description="scraped with Accept: OpenMetrics, then text format")
    name: str = Field("metrics", pattern=ENDPOINT_NAME, description="endpoint label of its scrape.* samples")
    timeout_s: float = Field(5.0, gt=0, le=120)
    max_bytes: int = Field(16 * 2**20, ge=1024, le=256 * 2**20, description="a larger body is a scrape error")
    max_series: int = Field(
        20_000, ge=1, le=1_000_000, description="more series is a scrape error (parsing costs ~30 us a series)"
    )
    rate_window_s: float = Field(
        0.0, ge=0, le=3600, description="rates over the scrapes of the last this many seconds (0: since the last)"
    )
    relabel: tuple[RelabelConfig, ...] = ()
    node: NodeSignalsConfig | None = NodeSignalsConfig()
    http: HttpSignalsConfig | None = HttpSignalsConfig()
    metrics: tuple[str, ...] = Field((), description="regexes of series names also published as they are")
    max_samples: int = Field(200, ge=0, le=900, description="at most this many selected series per scrape")

    @field_validator("metrics")
    @classmethod
    def _valid_regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _regex(pattern)
        return value

    def rules(self) -> tuple[RelabelRule, ...]:
        """The relabelling steps."""
        return tuple(r.to_domain() for r in self.relabel)

    def options(self) -> SignalOptions:
        """What the endpoint's series are turned into."""
        node = None
        if self.node is not None:
            node = NodeOptions(self.node.disk_mountpoint, self.node.net_exclude_devices)
        http = self.http.to_domain() if self.http is not None else None
        return SignalOptions(node, http, self.metrics, self.max_samples)
