"""The responder's application service: keeps the fold of its topics, runs decisions, publishes, notifies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias

from prometheus_client import CollectorRegistry, Counter

from services.responder.domain import clocks, decisions, lifecycle
from services.responder.domain.anomaly import AnomalyEventView
from services.responder.domain.oncall import Roster, gaps, handoffs
from services.responder.domain.outbox import (
    Notice,
    dispatch_record,
    outcome_records,
    owed_by_book,
    unknown_outcomes,
)
from services.responder.domain.policy import ResponsePolicy
from services.responder.domain.retention import Sweeps, forget_resolved
from services.responder.domain.stakeholders import (
    Mail,
    StakeholderConfig,
    UpdateLog,
    build_email,
    failure_note,
    mail_record,
    owed_mails,
)
from services.responder.domain.state import (
    Book,
    fold_incident_event,
    fold_notification_event,
    fold_oncall_event,
    fold_recovery_event,
    fold_silence_event,
    fold_suppressed,
)
from services.responder.domain.windows import MaintenanceWindow
from services.responder.notify.sender import Sender
from services.responder.notify.smtp_mail import MailFailed, SmtpMailer
from shared import events as ev
from shared.bus import EventBus, Received, RejectedEvent, Rejection
from shared.ledger import Ledger
from shared.models import Incident, OnCallChange, Severity, Team
from shared.rebuild import Skipped, rebuild
from shared.topics import INCIDENTS, NOTIFICATIONS, RECOVERY, SILENCES

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Owns = Callable[[Incident], bool]
StillOwner = Callable[[], Awaitable[bool]]
OWN_TOPICS: Final = (INCIDENTS, NOTIFICATIONS, SILENCES)
Own: TypeAlias = ev.IncidentEvent | ev.NotificationEvent | ev.SilenceEvent | ev.OnCallEvent
"""Events of the responder's own topics."""
Folded: TypeAlias = Own | ev.RecoveryEvent
"""Events the responder's state is a fold of: its own topics' and recovery's."""
HANDOFF_LOOKBACK: Final = timedelta(hours=1)
"""Hand-offs and gaps this far before a tick are published if not yet (ids derive from schedule, team, time)."""
GROUPED_CAPACITY: Final = 10_000
"""Anomaly event ids ``on_anomalies`` remembers as decided: many fetches' worth (a retry is of the latest)."""
FOLDED_CAPACITY: Final = 100_000
"""Ids of events folded that ``has_folded`` remembers: the view of its own topics runs seconds behind at most."""
GAP_HORIZON: Final = timedelta(days=7)
"""A gap this far ahead in the schedule of a team paged for Critical incidents is a warning at start."""


def utcnow() -> datetime:
    """Return the current UTC time (the production clock)."""
    return datetime.now(UTC)


async def _always() -> bool:
    """``still_owner`` of a responder alone: nobody else can hold its incidents."""
    return True


class Responder:
    """State (``book``) rebuilt from the responder's topics, decisions of the pure core, and their effects.

    One lock serialises decisions (handlers and the clock loop), so each decision sees the fold of
    every event decided before it. ``owns`` tells whether this instance runs an incident's clocks
    and notifications (its anomaly partition is assigned here), so two instances never both do;
    before anything is sent to a person ``still_owner`` asks the broker whether that assignment is
    still current (a member learns of a newer one only at its next heartbeat).
    Notifications flow one way: the responder decides what is owed and records it, ``sender``
    only sends a notice and returns the outcome, which the responder records (``notify_owed``).
    """

    def __init__(
        self,
        bus: EventBus,
        policy: ResponsePolicy,
        sender: Sender,
        *,
        clock: Clock = utcnow,
        owns: Owns = lambda _incident: True,
        still_owner: StillOwner = _always,
        notify_max_age_s: float = 3600.0,
        registry: CollectorRegistry | None = None,
        roster: Roster | None = None,
        windows: Sequence[MaintenanceWindow] = (),
        stakeholders: StakeholderConfig | None = None,
        mailer: SmtpMailer | None = None,
        incident_retention_s: float = 0.0,
    ) -> None:
        self.bus = bus
        self.policy = policy
        self.sender = sender
        self.clock = clock
        self.owns = owns
        self.still_owner = still_owner
        self.notify_max_age_s = notify_max_age_s
        self.book = Book(roster=roster or Roster())
        for window in windows:  # windows mute where silences do (`silences.silencing`)
            self.book.silences[window.silence_id] = window
        self.stakeholders = stakeholders or StakeholderConfig()
        self.mailer = mailer  # None: no status updates are sent (nor recorded as owed)
        self.updates = UpdateLog()  # opened / mitigated / resolved events, for stakeholders' e-mails
        self.lock = asyncio.Lock()
        self.grouped = Ledger(capacity=GROUPED_CAPACITY)  # anomaly events decided (a retried batch skips them)
        self.folded = Ledger(capacity=FOLDED_CAPACITY)  # events folded (their copy on the view is passed over)
        self.sending: set[asyncio.Task[None]] = set()
        self.decisions = Counter(
            "ir_responder_decisions", "Decisions on inputs by outcome", ["input", "outcome"], registry=registry
        )
        self._decision_children: dict[tuple[str, str], Counter] = {}
        self.skipped_records: list[Skipped] = []
        self.skipped = Counter(
            "ir_responder_rebuild_skipped", "Records skipped (and dead-lettered) while rebuilding", registry=registry
        )
        self.sweeps = Sweeps(timedelta(seconds=incident_retention_s))  # 0: resolved incidents are kept
        self.forgotten = Counter(
            "ir_responder_incidents_forgotten", "Resolved incidents dropped after the retention", registry=registry
        )

    async def rebuild(self) -> int:
        """Fold every event on the incidents, notifications, silences and recovery topics; return how many.

        Also loads the ids of its own events into the bus's published ledger (so nothing is
        re-emitted), then settles notifications dispatched before a crash whose outcome was never
        recorded. A record the edge refuses (a time far ahead of its broker time) or that the fold
        cannot take is skipped and kept for `dead_letter_skipped`: a bad record is never a reason
        to fail start-up.
        """
        rebuilt = await rebuild(self.bus, OWN_TOPICS, self.fold, inputs=(RECOVERY,), clock=self.clock)
        self.skipped.inc(len(rebuilt.skipped))
        self.skipped_records += rebuilt.skipped
        await self.settle_unknown()
        return rebuilt.applied

    async def catch_up(self) -> int:
        """Fold the events of the own topics' tails not folded yet; return how many (anomaly partitions moved here).

        The view of the own topics runs behind: without this, an instance handed a dead or
        rebalanced owner's incidents would not yet know the pages that owner recorded, and send them
        again. Holds the lock, so no decision is taken on a half-caught-up book.
        """

        def fold_new(event: Folded) -> None:
            if not self.has_folded(event.id):
                self.fold(event)

        async with self.lock:
            rebuilt = await rebuild(self.bus, OWN_TOPICS, fold_new, clock=self.clock, skip_known=True)
        self.skipped.inc(len(rebuilt.skipped))
        return rebuilt.applied

    async def dead_letter_skipped(self) -> int:
        """Dead-letter the records ``rebuild`` skipped (call once the broker is started); return how many."""
        sent = 0
        while self.skipped_records:
            skipped = self.skipped_records.pop(0)
            try:
                await self.bus.dead_letter(skipped.topic, skipped.record, skipped.reason)
                sent += 1
            except Exception:  # the broker refused the dead letter: the record stays skipped, start-up goes on
                log.exception("could not dead-letter a record skipped during rebuild")
        return sent

    def fold(self, event: Folded) -> None:
        """Apply an incident, notification, silence, on-call or recovery event to the book."""
        self.updates.observe(event)
        if isinstance(event, ev.IncidentEvent):  # first: nearly every event folded is one
            fold_incident_event(self.book, event)
        elif isinstance(event, ev.OnCallEvent):
            fold_oncall_event(self.book, event)
        elif isinstance(event, ev.NotificationEvent):
            fold_notification_event(self.book, event)
        elif isinstance(event, ev.SilenceEvent):
            fold_silence_event(self.book, event)
        else:
            fold_recovery_event(self.book, event)
        self.folded.add(event.id)

    def has_folded(self, event_id: str) -> bool:
        """Whether the event ``event_id`` is folded already (emitted here, or seen): a second fold changes nothing."""
        return event_id in self.folded

    async def emit(self, events: Iterable[ev.IncidentEvent | ev.NotificationEvent | ev.OnCallEvent]) -> None:
        """Send events keyed by their incident (or silence) and fold them in.

        Sends are not awaited one by one: the consumer flushes them before it commits the input's
        offset, and ``notify_owed`` flushes before anything is sent to a person.
        """
        for event in events:
            key = event.subject or event.correlationid or event.id
            await self.bus.send(event, key=key)
            self.fold(event)

    async def on_anomaly(self, event: AnomalyEventView, _delivery: object = None) -> None:
        """Group an anomaly into an incident (or silence / inhibit it)."""
        async with self.lock:
            outcome = await self._group(event)
        self.decisions.labels("anomaly", outcome).inc()

    async def on_anomalies(self, items: list[Received[AnomalyEventView]]) -> list[Rejection[AnomalyEventView]]:
        """Group a fetch of anomalies, in order, under one hold of the lock: ``on_anomaly`` for each.

        Their events are sent unawaited and go out together when the bus flushes the batch. When
        the bus runs a batch again after a failure, the anomalies an earlier attempt decided are
        not decided again (``grouped``), so only the one that failed is retried, as one by one.
        """
        outcomes: dict[str, int] = {}
        async with self.lock:
            try:
                for item in items:
                    event = item.event
                    if event.id in self.grouped:
                        continue
                    outcome = await self._group(event)
                    self.grouped.add(event.id)
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
            finally:  # counted once per outcome and fetch (each ``inc`` takes the counter's lock)
                for outcome, count in outcomes.items():
                    self._decided("anomaly", outcome).inc(count)
        return []

    def _decided(self, kind: str, outcome: str) -> Counter:
        """The ``decisions`` child of one input kind and outcome, looked up once (the label lookup takes a lock)."""
        child = self._decision_children.get((kind, outcome))
        if child is None:
            child = self._decision_children[kind, outcome] = self.decisions.labels(kind, outcome)
        return child

    async def _group(self, event: AnomalyEventView) -> str:
        """Decide one anomaly and emit what it decides (call with the lock held); return the outcome's first word."""
        decision = lifecycle.decide_anomaly(self.book, event, now=self.clock(), policy=self.policy)
        if decision.events:
            await self.emit(decision.events)
        fold_suppressed(self.book, event, silenced=decision.outcome.startswith("silenced"))
        return decision.outcome.partition(" ")[0]

    async def on_command(self, event: ev.CommandEvent, _delivery: object = None) -> None:
        """Apply an operator's acknowledge / resolve / note request, or a decision (`domain.decisions`)."""
        if isinstance(event, ev.RcaRequested | ev.ApproveRequested | ev.DenyRequested):
            return  # for the RCA and recovery services
        if isinstance(
            event,
            ev.DeclareRequested
            | ev.EscalateRequested
            | ev.ReassignRequested
            | ev.SeverityRequested
            | ev.MergeRequested
            | ev.SplitRequested,
        ):
            async with self.lock:
                try:
                    decision = decisions.decide(self.book, event, now=self.clock(), policy=self.policy)
                except LookupError as exc:
                    raise RejectedEvent(str(exc.args[0])) from exc
                await self.emit(decision.events)
            self.decisions.labels(
                event.type.removeprefix("dev.incidentctl.command."), decision.outcome.split(" ")[0]
            ).inc()
            await self.notify_owed()
            return
        async with self.lock:
            state = self.book.incidents.get(event.data.incident_id)
            if state is None:
                raise RejectedEvent(f"unknown incident {event.data.incident_id}")
            decision = lifecycle.decide_command(state, event, now=self.clock())
            await self.emit(decision.events)
        await self.notify_owed()

    async def on_recovery(self, event: ev.RecoveryEvent, _delivery: object = None) -> None:
        """Track recovery under way; escalate when it failed; note a verified recovery; ask for approvals."""
        async with self.lock:
            self.fold(event)  # an approval request owes the paged teams a notice (sent below)
            if isinstance(event, ev.RecoveryFailed | ev.RecoveryVerified):
                await self._recovery_concluded(event)
            elif not isinstance(event, ev.RecoveryApprovalRequested):
                return
        await self.notify_owed()

    async def _recovery_concluded(self, event: ev.RecoveryFailed | ev.RecoveryVerified) -> None:
        state = self.book.incidents.get(event.data.incident_id)
        if state is None:
            log.warning("recovery event %s for unknown incident %s", event.type, event.data.incident_id)
            return
        now = self.clock()
        decision = lifecycle.decide_recovery(state, event, now=now)
        await self.emit(decision.events)
        if isinstance(event, ev.RecoveryVerified):
            await self.emit(lifecycle.release_target_holds(self.book, event, now=now))

    async def on_own_event(self, event: Own, _delivery: object = None) -> None:
        """Fold an incident / notification / silence event seen live (another instance or the API wrote it)."""
        async with self.lock:
            self.fold(event)

    async def tick(self) -> None:
        """Run the clocks of the incidents this instance owns, then send what they owe."""
        now = self.clock()
        async with self.lock:
            self._forget_resolved(now)
            await self._release_silenced(now)
            recovering_targets = self.book.recovering_targets()
            for state in self.book.unresolved_incidents():
                if not self.owns(state.incident):
                    continue
                recovering = state.incident.target in recovering_targets  # any recovery on it may explain an outage
                await self.emit(clocks.decide_tick(state, now=now, policy=self.policy, recovering=recovering))
            await self.emit(self.oncall_changes(now))
        await self.notify_owed()

    def _forget_resolved(self, now: datetime) -> None:
        """Drop the incidents resolved longer than the retention ago (``domain.retention``; call with the lock held)."""
        if not self.sweeps.due(now):
            return
        gone = forget_resolved(self.book, now=now, retention=self.sweeps.retention)
        if gone:
            self.updates.forget(gone)
            self.forgotten.inc(len(gone))
            log.info("forgot %d incidents resolved more than %s ago", len(gone), self.sweeps.retention)

    async def _release_silenced(self, now: datetime) -> None:
        """Group the anomalies still firing whose silence is over (call with the lock held)."""
        for event in lifecycle.silence_ended(self.book, now=now):
            decision = lifecycle.decide_anomaly(self.book, event, now=now, policy=self.policy)
            await self.emit(decision.events)
            fold_suppressed(self.book, event, silenced=decision.outcome.startswith("silenced"))
            self.book.suppressed.pop(event.data.anomaly_id, None)
            self.decisions.labels("silence_ended", decision.outcome.split(" ")[0]).inc()

    def oncall_changes(self, now: datetime) -> list[ev.OnCallEvent]:
        """Return the hand-offs and gaps of every schedule in the hour up to ``now`` not yet published.

        Each event's id derives from the schedule, the team and the hand-off time, so a tick, a
        restart or a second instance deciding the same hand-off again yields the same id.
        """
        out: list[ev.OnCallEvent] = []
        for schedule in self.book.roster.schedules:
            for change in handoffs(schedule, now - HANDOFF_LOOKBACK, now + timedelta(microseconds=1)):
                data = OnCallChange(
                    schedule_name=schedule.name,
                    team=schedule.team,
                    at=change.at,
                    previous=change.previous,
                    person=change.person,
                    source=change.source,
                )
                cls = ev.OnCallGapStarted if change.person is None else ev.OnCallHandedOff
                event = cls.create(
                    data,
                    source=lifecycle.SOURCE,
                    id_parts=(schedule.name, schedule.team.value, change.at.isoformat()),
                    time=change.at,
                    subject=schedule.name,
                )
                if event.id not in self.book.oncall_events:
                    out.append(event)
        return out

    def gap_warnings(self, now: datetime, horizon: timedelta = GAP_HORIZON) -> list[str]:
        """Return a line per gap within ``horizon`` in the schedule of a team paged for Critical incidents."""
        critical = self.policy.escalation.get(Severity.CRITICAL)
        teams: set[Team] = {t for step in critical.steps for t in step.teams} if critical is not None else set()
        lines: list[str] = []
        for schedule in self.book.roster.schedules:
            if schedule.team not in teams:
                continue
            for gap in gaps(schedule, now, now + horizon):
                lines.append(
                    f"on-call schedule {schedule.name} ({schedule.team.value}, paged for critical incidents) has "
                    f"nobody on call from {gap.start.isoformat()} to {gap.end.isoformat()}: pages go to the "
                    "team's channels only"
                )
        return lines

    async def notify_owed(self) -> list[Notice]:
        """Record a dispatch for every owed notice of owned incidents, then start sending them; return them.

        Delivery is at-most-once: a notification whose dispatch was recorded is never sent again, not
        by a redelivered input, a replay or a restarted responder (the outbox owes only notices with
        no ``NotificationDispatched``). If the responder stops between recording the dispatch and
        recording the outcome, the outcome is unknown; after restart ``settle_unknown`` reports it on
        the incident as ``NotificationFailed`` (detail ``outcome unknown``) and it is not re-sent,
        because a second page is worse than asking a human to check one channel. Each notice is
        sent as its own task with per-try timeouts, so one channel that is down never delays the others.
        """
        async with self.lock:
            now = self.clock()
            owed = owed_by_book(
                self.book, self.sender.channels, owns=self.owns, now=now, max_age_s=self.notify_max_age_s
            )
            mails = self._owed_mails(now)
            if (owed or mails) and not await self.still_owner():
                return []  # a newer assignment exists: its owner (maybe this instance again) sends them
            for notice in owed:
                await self.emit([dispatch_record(notice, now=now)])
            for mail in mails:
                state = self.book.incidents[mail.incident_id]
                await self.emit([mail_record(ev.NotificationDispatched, mail, state, now=now, detail=mail.channel)])
            await self.bus.flush()  # every dispatch (and what the clock decided) is recorded before a send
        for notice in owed:
            self._spawn(self._send(notice), name=f"notify:{notice.notification_id}")
        for mail in mails:
            self._spawn(self._mail(mail), name=f"notify:{mail.notification_id}")
        return owed

    def _spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    def _owed_mails(self, now: datetime) -> list[Mail]:
        """Return the stakeholder e-mails owed (none without a mailer or subscribers); call with the lock held."""
        if self.mailer is None or not self.stakeholders.subscribers:
            return []
        return owed_mails(
            self.updates,
            self.book.incidents,
            self.stakeholders,
            self.book.notifications,
            owns=self.owns,
            now=now,
            max_age_s=self.notify_max_age_s,
        )

    async def _mail(self, mail: Mail) -> None:
        """Send one dispatched status update by e-mail, then record delivered, or failed plus a note."""
        assert self.mailer is not None
        state = self.book.incidents[mail.incident_id]
        team = state.paged[0] if state.paged else Team.L1
        message = build_email(
            state.incident,
            mail,
            team,
            sender=self.stakeholders.smtp.sender,
            page_url=self.stakeholders.status_page_url,
            now=self.clock(),
        )
        records: list[ev.NotificationEvent | ev.IncidentEvent]
        try:
            attempts, detail = await self.mailer.send(message)
        except MailFailed as exc:
            now = self.clock()
            failed = mail_record(ev.NotificationFailed, mail, state, now=now, attempt=exc.attempts, detail=str(exc))
            records = [failed, failure_note(mail, state, str(exc), now=now)]
        except Exception as exc:  # a mailer bug must not kill the loop; name it only (its text may hold secrets)
            log.exception("stakeholder mail %s crashed", mail.notification_id)
            detail = f"mail error {type(exc).__name__}"
            records = [mail_record(ev.NotificationFailed, mail, state, now=self.clock(), detail=detail)]
        else:
            records = [mail_record(ev.NotificationDelivered, mail, state, now=self.clock(), attempt=attempts,
                                   detail=detail)]  # fmt: skip
        async with self.lock:
            await self.emit(records)

    async def _send(self, notice: Notice) -> None:
        """Have the sender deliver one dispatched notice, then record the outcome it returns."""
        incident = self.book.incidents[notice.incident_id].incident
        ref = self.book.message_refs.get((notice.incident_id, notice.team, notice.channel), "")
        outcome = await self.sender.send(notice, incident, ref=ref)
        now = self.clock()
        async with self.lock:
            state = self.book.incidents.get(notice.incident_id)
            await self.emit(outcome_records(notice, outcome, state, now=now))

    async def settle_unknown(self) -> None:
        """Report notifications dispatched before a stop whose outcome was never recorded (never re-sent)."""
        async with self.lock:
            await self.emit(unknown_outcomes(self.book, now=self.clock()))

    async def drain(self) -> None:
        """Wait for notifications being sent (tests, graceful shutdown)."""
        while self.sending:
            await asyncio.gather(*list(self.sending), return_exceptions=True)

    async def run_clock(self, period_s: float, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Tick every ``period_s`` seconds until cancelled; a failing tick is logged, not fatal."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("clock tick failed")
            await sleep(period_s)
