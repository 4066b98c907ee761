"""The report's content, independent of language and format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.models import CauseCandidate, Incident


@dataclass(frozen=True)
class TimelineEntry:
    """One event of the incident, from any topic (or a burst of notifications folded into one row).

    ``key`` names the sentence (``tl_*`` in `services.rca.report.i18n`), ``params`` fill it; ``folded``
    counts the events a notification row stands for.
    """

    at: datetime
    topic: str
    kind: str
    key: str
    params: dict[str, str] = field(default_factory=dict)
    actor: str = ""
    folded: int = 1


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
    """One item of the improvement plan: its topic (``category``), a message key and its parameters.

    `services.rca.report.plan` places it in the manual's 5.2 list (``section``/``category``) and makes
    it a follow-up action: an ``owner`` team, a ``due`` date, a ``state`` (open/done) and a stable
    ``action_id``. A ``prompt`` is a question the data could not answer, left to its owner.
    """

    category: str
    key: str
    params: dict[str, str] = field(default_factory=dict)
    section: str = ""
    owner: str = ""
    due: datetime | None = None
    state: str = "open"
    prompt: bool = False
    action_id: str = ""


@dataclass(frozen=True)
class PastIncident:
    """An earlier incident's RCA result: when, on which target, its top cause."""

    incident_id: str
    at: datetime
    target: str
    entity: str
    signal: str


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
    past: tuple[PastIncident, ...] = ()

    @property
    def duration_s(self) -> float | None:
        """Seconds from opening to resolution."""
        return (self.resolved_at - self.opened_at).total_seconds() if self.resolved_at else None
