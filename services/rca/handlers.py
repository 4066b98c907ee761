"""RCA handlers: keep the window store fed; analyse an incident when resolved, recovered, or on request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

from elasticsearch import AsyncElasticsearch

from services.rca.analyze import rca_event
from services.rca.casefile import read_graph
from services.rca.recoveries import Recoveries
from services.rca.report.actions import action_events
from services.rca.report.build import ReportConfig
from services.rca.report.collect import collect_history
from services.rca.report.publish import document, index_report, report_file, write_files, write_languages
from services.rca.settings import RcaSettings
from services.rca.store import WindowStore
from services.rca.usecase import RankingPolicy, RcaUseCase, utc_now
from shared import events as ev
from shared.bus import Delivery, EventBus, RejectedEvent
from shared.files import UnsafePath
from shared.models import Incident

log = logging.getLogger(__name__)


class RcaHandlers:
    """Feeds the store; on IncidentResolved / RcaRequested ranks causes, writes the report, publishes."""

    def __init__(
        self,
        settings: RcaSettings,
        bus: EventBus,
        store: WindowStore,
        es: AsyncElasticsearch | None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings, self.bus, self.store, self.es = settings, bus, store, es
        self.incidents: dict[str, Incident] = {}
        self.recoveries = Recoveries()
        self.lock = asyncio.Lock()  # one analysis at a time: triggers on several topics share report files
        graph = settings.call_graph_file
        topology = read_graph(Path(graph)) if graph else None
        self.rca = RcaUseCase(
            partial(collect_history, settings),
            RankingPolicy(settings.lookback_s, settings.top_candidates, settings.engine, topology),
            ReportConfig(settings.response_targets_s, settings.noisy_rule_min_firings),
            clock,
        )

    async def on_observation(
        self, event: ev.MetricsObserved | ev.AnomalyEvent, delivery: Delivery | None = None
    ) -> None:
        """Fold a scrape or an anomaly into the window store."""
        self.store.add(event)

    def remember(self, event: ev.Event) -> None:
        """Track the latest state of every incident (its anomalies accumulate) and when recovery began."""
        self.store.add(event)  # recovery steps: what a restart did to its target is no root cause
        if isinstance(event, ev.RecoveryEvent):
            self.recoveries.add(event)
        if isinstance(event, ev.IncidentEvent):
            inc = event.data.incident
            known = self.incidents.get(inc.incident_id)
            ids = tuple(dict.fromkeys((known.anomaly_ids if known else ()) + inc.anomaly_ids))
            self.incidents[inc.incident_id] = inc.model_copy(update={"anomaly_ids": ids})

    async def on_incident(self, event: ev.IncidentEvent, delivery: Delivery | None = None) -> None:
        """Analyse an incident when it is resolved."""
        self.remember(event)
        if isinstance(event, ev.IncidentResolved):
            await self.analyse(event.data.incident.incident_id, trigger=event, end=event.time)

    async def on_recovery(self, event: ev.RecoveryEvent, delivery: Delivery | None = None) -> None:
        """Analyse an incident as soon as its automatic recovery is verified (if configured)."""
        self.remember(event)
        if isinstance(event, ev.RecoveryVerified) and self.settings.run_on_recovery_verified:
            await self.analyse(event.data.incident_id, trigger=event, end=event.time)

    async def on_command(self, event: ev.CommandEvent, delivery: Delivery | None = None) -> None:
        """Analyse an (open) incident now when an operator asks for it."""
        if isinstance(event, ev.RcaRequested):
            await self.analyse(event.data.incident_id, trigger=event, end=event.time)

    async def analyse(self, incident_id: str, *, trigger: ev.Event, end: datetime) -> ev.RootCauseIdentified | None:
        """Rank, write the report, publish RootCauseIdentified and index the report; return the event."""
        async with self.lock:
            return await self._analyse(incident_id, trigger=trigger, end=end)

    async def _analyse(self, incident_id: str, *, trigger: ev.Event, end: datetime) -> ev.RootCauseIdentified | None:
        incident = self.incidents.get(incident_id)
        if incident is None:
            log.warning("rca asked for unknown incident %s", incident_id)
            return None
        analysis = self.rca.rank(
            self.store,
            incident,
            end=end.timestamp(),
            recovery_started=self.recoveries.began(incident_id),
            recovery_verified=self.recoveries.verified(incident_id),
            others=list(self.incidents.values()),
        )
        out_dir = Path(self.settings.reports_dir).resolve()
        formats = list(dict.fromkeys(self.settings.report_formats))
        try:
            primary = report_file(out_dir, incident_id, formats[0]) if formats else None
        except UnsafePath as exc:  # the contract already refuses such ids; never write outside out_dir
            raise RejectedEvent(f"incident id cannot name a report file: {exc}") from exc
        event = rca_event(incident, analysis, trigger=trigger, source=self.bus.source, report_path=primary)
        if formats:
            report = await self.rca.report(
                self.store, incident_id, analysis, extra=(trigger, event), until=end.timestamp()
            )
            lang = self.settings.report_lang
            paths = write_files(report, out_dir, formats=formats, lang=lang)
            paths += write_languages(report, out_dir, formats=formats)
            log.info("report of %s written: %s", incident_id, ", ".join(map(str, paths)))
        await self.bus.publish(event, key=incident_id)
        if formats:
            for action in action_events(report, source=self.bus.source, at=end, causation=event):
                await self.bus.publish(action, key=incident_id)
        if formats and self.es is not None and self.settings.index_reports:
            await index_report(self.es, self.settings.reports_index, document(report, lang=lang, paths=paths))
        return event
