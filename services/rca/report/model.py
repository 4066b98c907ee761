"""The report's content, independent of language and format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.models import CauseCandidate, Incident


@dataclass(frozen=True)
class TimelineEntry:
    """One event of the incident, from any topic."""

    at: datetime
    topic: str
    kind: str
    summary: str
    actor: str = ""


@dataclass(frozen=True)
class Compliance:
    """Whether the first human response came within the severity's response target (`shared.compliance`)."""

    severity: str
    target_s: float
    response_s: float | None
    responded_by: str
    met: bool | None
    breached_event: bool = False
    automatic_s: float | None = None  # the first automatic recovery action, shown beside (never a response)
    automatic_by: str = ""
    verdict: str = ""  # `shared.compliance.Verdict`: met, missed, pending, not needed


@dataclass(frozen=True)
class Chart:
    """One metric series around the incident, with the anomaly span and detector marks."""

    series: str
    points: tuple[tuple[float, float], ...]
    start: float
    end: float
    anomaly_start: float
    anomaly_end: float
    marks: tuple[float, ...] = ()

    @property
    def entity(self) -> str:
        """Entity of the series."""
        return self.series.partition("|")[0]

    @property
    def metric(self) -> str:
        """Metric of the series."""
        return self.series.partition("|")[2]


@dataclass(frozen=True)
class Improvement:
    """One item of the improvement plan: a category, a message key and its parameters."""

    category: str
    key: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentReport:
    """Everything a report says about one incident."""

    incident: Incident
    opened_at: datetime
    resolved_at: datetime | None
    impact_start: datetime
    impact_end: datetime | None
    timeline: tuple[TimelineEntry, ...]
    compliance: Compliance
    ranking: tuple[CauseCandidate, ...]
    charts: tuple[Chart, ...]
    improvements: tuple[Improvement, ...]
    recovery: str
    generated_at: datetime
    fault: str | None = None

    @property
    def duration_s(self) -> float | None:
        """Seconds from opening to resolution."""
        return (self.resolved_at - self.opened_at).total_seconds() if self.resolved_at else None
