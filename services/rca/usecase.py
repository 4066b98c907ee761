"""The RCA use case, assembled once: gather an incident's evidence, rank its causes, build its report.

The rca service (`services/rca/handlers.py`) and ``incidentctl report`` (`incidentctl/report_cmd.py`)
both run it. The I/O comes in: a `HistoryReader` reads an incident's history back (in production
``functools.partial(collect_history, settings)``, a replay of the topics) and a clock stamps the
report; what comes out (an `Analysis`, an `IncidentReport`) the caller publishes, writes, renders or
indexes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from services.rca.analyze import Analysis, analyse, incident_anomaly_since, report_of
from services.rca.domain import RcaConfig, Topology
from services.rca.gather import Window
from services.rca.report.build import ReportConfig, final_incident
from services.rca.report.collect import IncidentHistory
from services.rca.report.model import IncidentReport
from services.rca.store import WindowStore
from shared import events as ev
from shared.models import Incident

# A report rebuilt from the topics keeps everything they hold about the incident.
REBUILD_RETENTION_S = 10 * 365 * 86400.0
REBUILD_MAX_POINTS = 100_000


class HistoryReader(Protocol):
    """Reads an incident's history back; fills ``store`` with the metrics it reads when one is given."""

    def __call__(self, incident_id: str, *, store: WindowStore | None = None) -> Awaitable[IncidentHistory]:
        """Return the history of ``incident_id``."""
        ...


@dataclass(frozen=True)
class RankingPolicy:
    """How causes are ranked: history before the incident, candidates kept, engine knobs, call graph."""

    lookback_s: float
    top: int
    engine: RcaConfig | None = None
    topology: Topology | None = None


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class RcaUseCase:
    """Rank an incident's causes from a window store and build its report from its history."""

    read_history: HistoryReader
    ranking: RankingPolicy
    report_config: ReportConfig = field(default_factory=ReportConfig)
    clock: Callable[[], datetime] = utc_now

    def rank(
        self,
        store: WindowStore,
        incident: Incident,
        *,
        end: float,
        recovery_started: float | None = None,
        recovery_verified: bool = False,
        others: Iterable[Incident] = (),
    ) -> Analysis:
        """Gather the evidence of ``incident`` from ``store`` (its window ends by ``end``) and rank its causes.

        ``others``: the other incidents known (an earlier finished fault of the target is no evidence).
        """
        return analyse(
            store, incident, end=end, lookback_s=self.ranking.lookback_s, top=self.ranking.top,
            anomaly_since=incident_anomaly_since(store, incident), recovery_started=recovery_started,
            recovery_verified=recovery_verified, config=self.ranking.engine, topology=self.ranking.topology,
            others=others,
        )  # fmt: skip

    async def report(
        self, store: WindowStore, incident_id: str, analysis: Analysis, *, extra: Iterable[ev.Event] = (),
        until: float,
    ) -> IncidentReport:  # fmt: skip
        """Read the incident's history and build its report around ``analysis`` (``extra``: events not yet on it).

        Charts come from ``store``, up to ``until``.
        """
        history = await self.read_history(incident_id)
        return self._build(history, store, analysis, extra=extra, until=until, now=self.clock())

    async def rebuild(self, incident_id: str) -> IncidentReport | None:
        """Build the report of ``incident_id`` from its history alone; None when none of its lifecycle is found.

        One read fills a fresh store with the metrics. The latest RCA result's window and ranking are
        reused; without one the causes are ranked now, up to the incident's resolution (else now).
        """
        store = WindowStore(retention_s=REBUILD_RETENTION_S, max_points=REBUILD_MAX_POINTS)
        history = await self.read_history(incident_id, store=store)
        incident = final_incident(history.events)
        if incident is None:
            return None
        anomaly_ids = {a for e in history.events if hasattr(e.data, "incident") for a in e.data.incident.anomaly_ids}
        incident = incident.model_copy(update={"anomaly_ids": tuple(sorted(anomaly_ids))})
        rca = history.latest_rca
        now = self.clock()
        if rca is not None:
            data = rca.data
            span = Window(data.window_start.timestamp(), incident.opened_at.timestamp(), data.window_end.timestamp())
            analysis = Analysis(span, data.ranking)
        else:
            resolved = [e.time for e in history.events if e.type.endswith("incident.resolved")]
            analysis = self.rank(store, incident, end=(resolved[-1] if resolved else now).timestamp())
        last = max((e.time.timestamp() for e in history.events), default=analysis.window.end)
        return self._build(history, store, analysis, until=last, now=now)

    def _build(
        self, history: IncidentHistory, store: WindowStore, analysis: Analysis, *,
        extra: Iterable[ev.Event] = (), until: float, now: datetime,
    ) -> IncidentReport:  # fmt: skip
        return report_of(
            history, store, ranking=analysis.ranking, window=analysis.window, config=self.report_config,
            extra=extra, until=until, now=now,
        )  # fmt: skip


__all__ = ["HistoryReader", "RankingPolicy", "RcaUseCase"]
