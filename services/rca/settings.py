"""RCA service settings: analysis window, window store bounds, reports and their index."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.rca.domain import RcaConfig
from services.rca.report.i18n import Lang
from shared.settings import ServiceSettings


class RcaSettings(ServiceSettings):
    """Settings of ``python -m services.rca`` (env prefix ``RCA_``, or the YAML file)."""

    model_config = SettingsConfigDict(env_prefix="RCA_", extra="ignore", env_nested_delimiter="__")
    service_name: ClassVar[str] = "rca"

    group_id: str = "rca"
    lookback_s: float = Field(600.0, gt=0, description="history before the incident the engine learns from")
    store_retention_s: float = Field(7200.0, gt=0, description="how long the window store keeps samples")
    store_max_points: int = Field(7200, ge=10, description="samples kept per series")
    run_on_recovery_verified: bool = Field(
        True, description="also analyse when automatic recovery is verified (before the incident is resolved)"
    )
    call_graph_file: str | None = Field(
        None, description="optional call graph, a CSV with header caller,callee (entity names as the collector's)"
    )
    engine: RcaConfig = Field(default_factory=RcaConfig, description="knobs of the ranking engine (RcaConfig)")
    top_candidates: int = Field(5, ge=1)
    reports_dir: str = "./reports"
    report_lang: Lang = "en"
    report_formats: list[Literal["md", "html"]] = Field(default_factory=lambda: ["md", "html"])  # type: ignore[arg-type]
    reports_index: str = "incident-reports"
    index_reports: bool = True
    response_targets_s: dict[str, float] = Field(
        default_factory=lambda: {"critical": 900.0, "major": 7200.0, "minor": 14400.0},
        description="response target per severity, as the responder's escalation policy has them (Critical 15 min,"
        " Major 2 h, Minor 4 h): keep them equal to the responder's",
    )
    noisy_rule_min_firings: int = Field(5, ge=2, description="firings without an incident that make a rule noisy")
