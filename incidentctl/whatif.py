"""``incidentctl replay --into PREFIX``: re-drive a window's recorded metrics through detection, grouping and RCA.

The detector, responder and rca run in this process, each from its composition root
(``build(settings, clock=...)``), under the topic prefix ``PREFIX`` (topics and consumer groups of
their own: the live stack's are only read). The recorded scrapes are re-published into
``PREFIX`` + ``collector.metrics.v1`` unchanged (same ids) in time order, paced by a virtual clock
that runs ``speed`` times faster than the wall clock from the window's first scrape, so sustain
times, group waits and escalation delays keep their meaning. Notifications go to the log only;
nothing is recovered; reports go under the replay's folder, not into Elasticsearch. Once the
window is through, RCA is requested for every incident of the replay, and the incidents of both
runs are compared (``whatif_diff``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch

from incidentctl.exits import say
from incidentctl.replay_cmd import Window, in_time_order, read_recorded
from incidentctl.whatif_diff import DiffRow, Outcome, diff, summarize
from services.detector.adapters.es_logs import ElasticsearchLogSource, LogFields, LogSource
from services.detector.app import build as build_detector
from services.detector.domain.logmining.findings import LogRecord
from services.detector.settings import DetectorSettings
from services.rca.app import build as build_rca
from services.rca.settings import RcaSettings
from services.responder.app import build as build_responder
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import models as m
from shared.events import encode_event
from shared.ids import short_id
from shared.models import Team
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES, COMMANDS, INCIDENTS, METRICS, NOTIFICATIONS, RCA

log = logging.getLogger(__name__)

PREFIX_RE: Final = re.compile(r"^[A-Za-z0-9._-]{1,60}$")
JOIN_TIMEOUT_S: Final = 60.0
QUIET_S: Final = 2.0
SETTLE_MAX_S: Final = 60.0
RCA_TIMEOUT_S: Final = 60.0
PACE_POLL_S: Final = 0.05
TICK_VIRTUAL_S: Final = 0.25
SOURCE: Final = "incidentctl/replay"

S = TypeVar("S", bound=ServiceSettings)


class PacedLogSource:
    """The recorded logs up to the window's end, each handed out when the virtual clock reaches its time.

    Wraps the stack's log store (read only): the detector's log loop follows it as it follows the
    live index, so templates are mined and bursts found in step with the re-published scrapes.
    """

    def __init__(self, inner: LogSource, *, end: datetime, clock: VirtualClock) -> None:
        self.inner = inner
        self.end = end
        self.clock = clock
        self.handed = 0

    async def close(self) -> None:
        """Close the log store's client, if it has one."""
        close = getattr(self.inner, "close", None)
        if close is not None:
            await close()

    def read(self, start: datetime, end: datetime) -> AsyncIterator[LogRecord]:
        """The records with ``start <= timestamp < min(end, window end)``."""
        return self.inner.read(start, min(end, self.end))

    async def follow(
        self, start: datetime, *, poll_seconds: float = 1.0, stop: asyncio.Event | None = None
    ) -> AsyncIterator[LogRecord]:
        """Yield the window's records from ``start`` in time order at the clock's pace; then wait for ``stop``."""
        stop = stop or asyncio.Event()
        async for record in self.inner.read(start, self.end):
            while self.clock() < record.timestamp and not stop.is_set():
                await asyncio.sleep(min(PACE_POLL_S, max(self.clock.wall_seconds_until(record.timestamp), 0.001)))
            if stop.is_set():
                return
            self.handed += 1
            yield record
        await stop.wait()


class VirtualClock:
    """The replay's time: ``origin`` until started, then ``speed`` times the wall clock's pace."""

    def __init__(self, origin: datetime, speed: float) -> None:
        self.origin = origin
        self.speed = speed
        self._wall_start: float | None = None

    def start(self) -> None:
        """Let time run from ``origin``."""
        self._wall_start = time.monotonic()

    def __call__(self) -> datetime:
        if self._wall_start is None:
            return self.origin
        return self.origin + timedelta(seconds=(time.monotonic() - self._wall_start) * self.speed)

    def wall_seconds_until(self, moment: datetime) -> float:
        """Wall seconds until the virtual clock reaches ``moment`` (0 if it has)."""
        return max(0.0, (moment - self()).total_seconds() / self.speed)


@dataclass
class WhatIf:
    """The outcome of a replay: what was re-driven and what changed."""

    scrapes: int
    targets: int
    original: list[Outcome]
    replay: list[Outcome]
    rows: list[DiffRow] = field(default_factory=list)
    log_records: int | None = None  # handed to the log analysis; None: it was off


def check_prefix(into: str, source_prefix: str) -> str:
    """Refuse a prefix that is not a plain name or that is the recorded stack's own (a usage error)."""
    if not PREFIX_RE.match(into):
        raise ValueError(say("err_into_name", into=into))
    if into == source_prefix:
        raise ValueError(say("err_into_own", into=into))
    return into


@contextmanager
def _config_file(path: Path | None) -> Iterator[None]:
    """Point ``IR_CONFIG_FILE`` at ``path`` (or at nothing) while settings are loaded."""
    before = os.environ.get("IR_CONFIG_FILE")
    if path is not None and path.exists():
        os.environ["IR_CONFIG_FILE"] = str(path)
    else:
        os.environ.pop("IR_CONFIG_FILE", None)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("IR_CONFIG_FILE", None)
        else:
            os.environ["IR_CONFIG_FILE"] = before


def load_settings(cls: type[S], config_dir: Path | None, service: str, **overrides: Any) -> S:
    """``cls`` from ``<config_dir>/<service>.yaml`` (defaults when absent) with ``overrides`` on top."""
    with _config_file(config_dir / f"{service}.yaml" if config_dir is not None else None):
        return cls.load(**overrides)


def replay_settings(
    source: ServiceSettings, into: str, config_dir: Path | None, reports_dir: Path, *, speed: float = 10.0
) -> tuple[DetectorSettings, ResponderSettings, RcaSettings]:
    """The three services' settings for a replay: the config folder's, isolated and side-effect free."""
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": source.kafka_bootstrap_servers,
        "elasticsearch_url": source.elasticsearch_url,
        "topic_prefix": into,
        "instance_id": "replay",
        "heartbeat_interval_s": 5.0,
        "join_timeout_s": 30.0,
    }
    detector = load_settings(DetectorSettings, config_dir, "detector", **common, checkpoint=False)
    responder = load_settings(
        ResponderSettings, config_dir, "responder", **common,
        routes={team.value: [{"type": "log"}] for team in Team},  # a what-if pages nobody
        tick_s=max(0.01, TICK_VIRTUAL_S / speed),  # the clock loop looks every quarter of a virtual second
    )  # fmt: skip
    rca = load_settings(RcaSettings, config_dir, "rca", **common, reports_dir=str(reports_dir), index_reports=False)
    return detector, responder, rca


async def _publish_window(settings: ServiceSettings, scrapes: list[ev.MetricsObserved], clock: VirtualClock) -> None:
    """Publish ``scrapes`` (time-ordered) into the replay's metrics topic, each when the clock reaches its time."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    await producer.start()
    try:
        clock.start()
        topic = settings.topic_prefix + METRICS.name
        for scrape in scrapes:
            wait = clock.wall_seconds_until(scrape.time)
            if wait > 0:
                await asyncio.sleep(wait)
            await producer.send(topic, encode_event(scrape), key=scrape.data.target.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _wait_joined(members: list[Any]) -> None:
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    while not all(member.progress.joined for member in members):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replay's consumers did not join their groups within {JOIN_TIMEOUT_S:.0f}s")
        await asyncio.sleep(0.1)


async def _read(settings: ServiceSettings, names: list[str]) -> list[ev.Event]:
    return [r.event for r in in_time_order(await read_recorded(settings, names))]


async def _settle(settings: ServiceSettings) -> list[ev.Event]:
    """Wait until the replay's anomalies, incidents and notifications stop changing; return them."""
    names = [settings.topic_prefix + t.name for t in (ANOMALIES, INCIDENTS, NOTIFICATIONS, RCA)]
    deadline = time.monotonic() + SETTLE_MAX_S
    seen, quiet_since = -1, time.monotonic()
    while True:
        events = await _read(settings, names)
        if len(events) != seen:
            seen, quiet_since = len(events), time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_S or time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.5)


async def _request_rca(settings: ServiceSettings, incident_ids: list[str], clock: VirtualClock) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    await producer.start()
    try:
        for incident_id in incident_ids:
            command_id = short_id("cmd", incident_id, "rca", "replay")
            data = m.OperatorCommand(command_id=command_id, incident_id=incident_id, actor="replay")
            event = ev.RcaRequested.create(data, source=SOURCE, id_parts=(command_id,), time=clock(),
                                           subject=incident_id, correlationid=incident_id)  # fmt: skip
            await producer.send_and_wait(settings.topic_prefix + COMMANDS.name, encode_event(event),
                                         key=incident_id.encode())  # fmt: skip
    finally:
        await producer.stop()


async def _wait_rca(settings: ServiceSettings, incident_ids: list[str]) -> None:
    deadline = time.monotonic() + RCA_TIMEOUT_S
    while time.monotonic() < deadline:
        done = {
            e.data.incident_id
            for e in await _read(settings, [settings.topic_prefix + RCA.name])
            if isinstance(e, ev.RootCauseIdentified)
        }
        if done >= set(incident_ids):
            return
        await asyncio.sleep(0.5)
    log.warning("RCA did not answer for every replayed incident within %.0fs", RCA_TIMEOUT_S)


async def run_whatif(
    source: ServiceSettings,
    *,
    into: str,
    window: Window,
    config_dir: Path | None,
    out_dir: Path,
    speed: float = 10.0,
    tail_s: float = 30.0,
) -> WhatIf:
    """Re-drive the recorded scrapes of ``window`` under ``into`` and compare the incidents with the original."""
    check_prefix(into, source.topic_prefix)
    metrics = [
        r.event for r in in_time_order(await read_recorded(source, [source.topic_prefix + METRICS.name]), window)
    ]
    scrapes = [e for e in metrics if isinstance(e, ev.MetricsObserved)]
    if not scrapes:
        raise LookupError(say("err_no_scrapes"))
    start, end = window.start or scrapes[0].time, window.end or scrapes[-1].time + timedelta(seconds=1)
    # The incidents opened in the window; their pages and analyses may come later (an RCA is stamped when it ran).
    outcomes = await _read(source, [source.topic_prefix + t.name for t in (INCIDENTS, NOTIFICATIONS, RCA)])
    original = summarize(outcomes, opened_from=start, opened_to=end)

    target_settings = ServiceSettings.load(kafka_bootstrap_servers=source.kafka_bootstrap_servers, topic_prefix=into)
    if await read_recorded(target_settings, [into + METRICS.name]):
        raise ValueError(say("err_into_used", into=into))
    detector_s, responder_s, rca_s = replay_settings(source, into, config_dir, out_dir / "reports", speed=speed)
    await ensure_topics(target_settings)
    clock = VirtualClock(scrapes[0].time, speed)
    logs = _log_source(detector_s, end=end, clock=clock)
    runtimes: list[Runtime] = [
        build_detector(detector_s, clock=clock, log_source=logs),
        build_responder(responder_s, clock=clock),
        build_rca(rca_s, clock=clock),
    ]
    started: list[Runtime] = []
    try:
        for runtime in runtimes:
            await runtime.start()
            started.append(runtime)
        await _wait_joined([member for rt in runtimes for member in rt.service.bus.members])
        await _publish_window(target_settings, scrapes, clock)
        await asyncio.sleep(clock.wall_seconds_until(scrapes[-1].time + timedelta(seconds=tail_s)))
        settled = await _settle(target_settings)
        opened = [o.incident_id for o in summarize(settled)]
        if opened:
            await _request_rca(target_settings, opened, clock)
            await _wait_rca(target_settings, opened)
    finally:
        for runtime in reversed(started):
            await runtime.stop()
        if logs is not None:
            await logs.close()
    replayed = summarize(await _read(target_settings, [into + t.name for t in (INCIDENTS, NOTIFICATIONS, RCA)]))
    targets = len({s.data.target for s in scrapes})
    return WhatIf(len(scrapes), targets, original, replayed, diff(original, replayed), logs.handed if logs else None)


def _log_source(settings: DetectorSettings, *, end: datetime, clock: VirtualClock) -> PacedLogSource | None:
    """The recorded logs (the detector's log index, read only), paced; None when log analysis is off."""
    if not settings.logs.enabled:
        return None
    lg = settings.logs
    fields = LogFields(lg.timestamp_field, lg.message_field, lg.level_field, lg.service_field, lg.host_field)
    client = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30, **settings.elasticsearch_options())
    return PacedLogSource(ElasticsearchLogSource(client, index=lg.index_pattern, fields=fields), end=end, clock=clock)


def describe(result: WhatIf, *, into: str, window: Window, config_dir: Path | None, lang: str | None = None) -> str:
    """The header line of the printed comparison."""
    span = f"{_iso(window.start, lang)} .. {_iso(window.end, lang)}"
    config = say("wi_config", lang, dir=config_dir) if config_dir is not None else say("wi_default_config", lang)
    logs = (say("wi_logs", lang, count=result.log_records) if result.log_records is not None
            else say("wi_logs_off", lang))  # fmt: skip
    return say("wi_describe", lang, scrapes=result.scrapes, targets=result.targets, logs=logs, span=span, into=into,
               config=config, original=len(result.original), replay=len(result.replay))  # fmt: skip


def _iso(moment: datetime | None, lang: str | None = None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else say("wi_open", lang)


def quiet_service_logs(levels: Mapping[str, int] | None = None) -> None:
    """Keep the services' own logging (joins, pages to the log channel) off the CLI's output."""
    quiet = {"services": logging.ERROR, "shared": logging.ERROR, "responder": logging.ERROR,  # pages to the log
             "aiokafka": logging.CRITICAL, "faststream": logging.ERROR, "elastic_transport": logging.ERROR,
             "shared.runtime": logging.WARNING}  # fmt: skip
    # shared.runtime: its task dump (kill -USR1) shows where a hung replay waits
    for name, level in (levels or quiet).items():
        logging.getLogger(name).setLevel(level)


__all__ = ["VirtualClock", "WhatIf", "check_prefix", "describe", "quiet_service_logs", "replay_settings", "run_whatif"]
