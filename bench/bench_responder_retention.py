"""What a month of incidents leaves in the responder's book, and what its clock loop then costs per tick.

Usage: python bench/bench_responder_retention.py [--days 30] [--per-day 2000]

Runs the responder's pure core (decide, clocks, fold) through ``--days`` days of incidents, each
on a target of its own (a replaced pod, a short-lived instance): opened by an anomaly, paged by the
clock, cleared a minute later and auto-resolved. Two books in the same run:

- incidents forgotten a week after their resolution (``incident_retention_s``, the default: what
  a restart that rebuilds from the 7-day topics holds);
- nothing forgotten (0).

Prints what each book holds and the CPU of one pass of the clock loop (every open incident's
clocks, then the notification outbox over the book), the median of ``--passes``. The loop runs
every ``tick_s`` (1 s by default).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.responder.domain import clocks, lifecycle
from services.responder.domain.outbox import owed_by_book
from services.responder.domain.policy import ResponsePolicy
from services.responder.domain.retention import Sweeps, forget_resolved
from services.responder.domain.state import Book, fold_incident_event, fold_suppressed
from services.responder.settings import ResponderSettings
from shared import events as ev
from shared import metric_names as mn
from shared import models as m

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ROUTES = {team: ("log",) for team in m.Team}


def revision(target: str, at: datetime, *, resolved: bool) -> ev.AnomalyEvent:
    """The target-down anomaly of ``target``: detected at ``at``, or resolved a minute later."""
    since = at - timedelta(minutes=1) if resolved else at
    data = m.Anomaly(
        anomaly_id=f"{target}-down", fingerprint=f"{target}/{mn.HTTP_UP}", kind=m.AnomalyKind.THRESHOLD,
        target=target, signal=mn.HTTP_UP, impact=m.Impact.SERVICE_DOWN, score=1.0, observed=0.0, threshold=1.0,
        since=since, last_seen=at, revision=2 if resolved else 1, summary="http.up 0 < 1",
    )  # fmt: skip
    cls = ev.AnomalyResolved if resolved else ev.AnomalyDetected
    return cls.create(data, source="/bench", id_parts=(target, resolved), time=at, subject=target)


class Simulated:
    """One book driven through the incidents, with or without forgetting."""

    def __init__(self, policy: ResponsePolicy, retention: timedelta) -> None:
        self.book = Book()
        self.policy = policy
        self.sweeps = Sweeps(retention)
        self.forgotten = 0

    def emit(self, events: list[ev.IncidentEvent]) -> None:
        for event in events:
            fold_incident_event(self.book, event)

    def incident(self, target: str, at: datetime) -> None:
        """Open, page, clear and auto-resolve one incident of ``target`` starting at ``at``."""
        for when, resolved in ((at, False), (at + timedelta(minutes=1), True)):
            event = revision(target, when, resolved=resolved)
            decision = lifecycle.decide_anomaly(self.book, event, now=when, policy=self.policy)
            self.emit(decision.events)
            fold_suppressed(self.book, event, silenced=False)
            incident_id = self.book.incident_of_anomaly[event.data.anomaly_id]
            self.emit(clocks.decide_tick(self.book.incidents[incident_id], now=when, policy=self.policy))
        later = at + timedelta(minutes=1, seconds=self.policy.auto_resolve_after_s + 1)
        self.emit(clocks.decide_tick(self.book.incidents[incident_id], now=later, policy=self.policy))

    def sweep(self, now: datetime) -> None:
        if self.sweeps.due(now):
            self.forgotten += len(forget_resolved(self.book, now=now, retention=self.sweeps.retention))

    def tick_cpu(self, now: datetime, passes: int) -> float:
        """Median CPU seconds of one clock-loop pass over the book (nothing it decides is folded)."""
        timings = []
        for _ in range(passes):
            started = time.process_time()
            for state in self.book.unresolved_incidents():
                clocks.decide_tick(state, now=now, policy=self.policy)
            owed_by_book(self.book, ROUTES, owns=lambda _incident: True, now=now, max_age_s=3600.0)
            timings.append(time.process_time() - started)
        return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args()
    settings = ResponderSettings()
    policy = settings.policy()
    books = {
        f"forgets a week after resolution (incident_retention_s: {settings.incident_retention_s:g})": Simulated(
            policy, timedelta(seconds=settings.incident_retention_s)
        ),
        "never forgets (incident_retention_s: 0)": Simulated(policy, timedelta(0)),
    }
    spacing = timedelta(days=1) / args.per_day
    end = T0 + timedelta(days=args.days)
    print(f"{args.days} days, {args.per_day} incidents a day, each on a target of its own; pure core, one process")
    print(f"{'book':<62} {'incidents':>10} {'anomaly index':>14} {'forgotten':>10} {'tick CPU':>10}")
    for name, book in books.items():
        for n in range(args.days * args.per_day):
            at = T0 + n * spacing
            book.incident(f"pod-{n:07d}", at)
            book.sweep(at)
        book.sweep(end)
        cpu = book.tick_cpu(end, args.passes)
        held = len(book.book.incidents)
        print(f"{name:<62} {held:>10,} {len(book.book.incident_of_anomaly):>14,} {book.forgotten:>10,} "
              f"{cpu * 1e3:>8.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
