"""What a replay changed: incidents of two runs summarised and compared (pure: events in, rows out)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from incidentctl.exits import cells, heads, ljust, say
from shared import events as ev
from shared.models import SEVERITY_RANK, Severity
from shared.text import clean_line

NONE: Final = "-"
TIME_TOLERANCE_S: Final = 2.0
"""Opening and page times this close count as unchanged: the replay's clock runs in steps (its ticks,
the scrape interval), so the same decisions land a second apart."""


@dataclass
class Outcome:
    """What one incident came to: opened when, how severe at most, first page, top root cause."""

    incident_id: str
    target: str
    opened_at: datetime
    severity: Severity
    title: str = ""
    first_page_at: datetime | None = None
    root_cause: str | None = None
    rca_at: datetime | None = field(default=None, repr=False)


def summarize(events: Iterable[ev.Event], *, opened_from: datetime | None = None,
              opened_to: datetime | None = None) -> list[Outcome]:  # fmt: skip
    """The incidents opened in ``[opened_from, opened_to)`` among ``events``, in order of opening."""
    found: dict[str, Outcome] = {}
    pages: dict[str, datetime] = {}
    causes: dict[str, tuple[datetime, str]] = {}
    for event in events:
        if isinstance(event, ev.IncidentOpened | ev.IncidentUpdated | ev.IncidentEscalated):
            incident = event.data.incident
            known = found.get(incident.incident_id)
            if known is None:
                found[incident.incident_id] = Outcome(
                    incident.incident_id, incident.target, incident.opened_at, incident.severity, incident.title
                )
            elif SEVERITY_RANK[incident.severity] > SEVERITY_RANK[known.severity]:
                known.severity = incident.severity
        elif isinstance(event, ev.NotificationDispatched) and event.data.kind == "page":
            earlier = pages.get(event.data.incident_id)
            if earlier is None or event.time < earlier:
                pages[event.data.incident_id] = event.time
        elif isinstance(event, ev.RootCauseIdentified) and event.data.ranking:
            top = event.data.ranking[0]
            latest = causes.get(event.data.incident_id)
            if latest is None or event.time >= latest[0]:
                causes[event.data.incident_id] = (event.time, f"{top.entity} {top.signal}")
    out: list[Outcome] = []
    for outcome in found.values():
        if opened_from is not None and outcome.opened_at < opened_from:
            continue
        if opened_to is not None and outcome.opened_at >= opened_to:
            continue
        outcome.first_page_at = pages.get(outcome.incident_id)
        cause = causes.get(outcome.incident_id)
        outcome.root_cause = cause[1] if cause else None
        out.append(outcome)
    return sorted(out, key=lambda o: (o.opened_at, o.incident_id))


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One aspect of one target's incident in the original run and in the replay."""

    target: str
    aspect: str
    original: str
    replay: str
    same: bool | None = None  # None: the texts decide; times are compared within ``TIME_TOLERANCE_S``

    @property
    def changed(self) -> bool:
        """Whether the replay differs from the original here."""
        return not self.same if self.same is not None else self.original != self.replay


def _pairs(original: Sequence[Outcome], replay: Sequence[Outcome]) -> list[tuple[Outcome | None, Outcome | None]]:
    """Pair each target's incidents by nearest opening time (greedy, closest first); the rest stand alone.

    A changed threshold moves an opening, drops one or adds one: the nearest in time is the same
    trouble seen differently, which pairing in order of opening gets wrong once one is dropped.
    """
    candidates = sorted(
        ((abs((o.opened_at - r.opened_at).total_seconds()), i, j)
         for i, o in enumerate(original) for j, r in enumerate(replay) if o.target == r.target),
    )  # fmt: skip
    left_used: set[int] = set()
    right_used: set[int] = set()
    pairs: list[tuple[Outcome | None, Outcome | None]] = []
    for _, i, j in candidates:
        if i not in left_used and j not in right_used:
            left_used.add(i)
            right_used.add(j)
            pairs.append((original[i], replay[j]))
    pairs += [(o, None) for i, o in enumerate(original) if i not in left_used]
    pairs += [(None, r) for j, r in enumerate(replay) if j not in right_used]
    return sorted(pairs, key=_pair_order)


def _pair_order(pair: tuple[Outcome | None, Outcome | None]) -> tuple[str, datetime]:
    left, right = pair
    one = left or right
    assert one is not None
    return one.target, min(o.opened_at for o in pair if o is not None)


def diff(original: Sequence[Outcome], replay: Sequence[Outcome]) -> list[DiffRow]:
    """Compare two runs' incidents: opened or not, peak severity, first page, top root cause.

    Page times are shown with their delay after the incident's opening, which is what a changed
    threshold or rule moves (the clock of the two runs differs: the replay runs at its own speed).
    """
    rows: list[DiffRow] = []
    for left, right in _pairs(original, replay):
        target = (left or right).target  # type: ignore[union-attr]  # one side is always there
        opened_same = left is not None and right is not None and _close(left.opened_at, right.opened_at)
        rows += [
            DiffRow(target, "incident opened", _opened(left), _opened(right), opened_same or None),
            DiffRow(target, "severity", left.severity.value if left else NONE, right.severity.value if right else NONE),
            DiffRow(
                target,
                "first page after opening",
                _delay(left.first_page_at, left.opened_at) if left else NONE,
                _delay(right.first_page_at, right.opened_at) if right else NONE,
                _same_delay(left, right),
            ),
            DiffRow(target, "top root cause", _cause(left), _cause(right)),
        ]
    return rows


def _close(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) <= TIME_TOLERANCE_S


def _same_delay(left: Outcome | None, right: Outcome | None) -> bool | None:
    """Both paged within the tolerance of the same delay: unchanged (None: let the texts decide)."""
    if left is None or right is None or left.first_page_at is None or right.first_page_at is None:
        return None
    return _close(left.first_page_at - left.opened_at + right.opened_at, right.first_page_at)


def _opened(outcome: Outcome | None) -> str:
    return f"yes {outcome.opened_at.strftime('%H:%M:%S')}" if outcome else "no"


def _delay(page: datetime | None, opened: datetime) -> str:
    return f"{(page - opened).total_seconds():.0f}s" if page is not None else "no page"


def _cause(outcome: Outcome | None) -> str:
    if outcome is None:
        return NONE
    return outcome.root_cause or "(no analysis)"


FIXED: Final = frozenset(
    {"incident opened", "severity", "first page after opening", "top root cause", "no", "no page", "(no analysis)"}
)
"""The aspects and fixed values `diff` writes in English; `format_diff` shows them in the CLI's language."""


def _fixed(text: str, lang: str | None) -> str:
    """An aspect or a fixed value of a row (``no``, ``yes 13:03:00``) in ``lang``; data stays as it is."""
    if text in FIXED:
        return say(f"wi_{text}", lang)
    if text.startswith("yes ") and len(text) == 12:
        return say("wi_yes", lang, at=text[4:])
    return text


def _crop(line: str, width: int) -> str:
    """``line`` cut to ``width`` terminal cells (Hangul takes two)."""
    from rich.cells import set_cell_size

    return line if cells(line) <= width else set_cell_size(line, width).rstrip()


def format_diff(rows: Sequence[DiffRow], *, width: int = 100, lang: str | None = None) -> str:
    """The difference table for a terminal: one row per aspect, changed rows marked ``*``."""
    if not rows:
        return say("wi_nothing", lang)
    header = tuple(heads("wi_head", lang))
    table = [
        tuple(clean_line(c, limit=40) for c in ("*" if r.changed else " ", r.target, _fixed(r.aspect, lang),
                                                 _fixed(r.original, lang), _fixed(r.replay, lang)))
        for r in rows
    ]  # fmt: skip
    widths = [max(cells(row[c]) for row in [header, *table]) for c in range(len(header))]
    lines = ["  ".join(ljust(v, w) for v, w in zip(row, widths, strict=True)).rstrip() for row in [header, *table]]
    changed = sum(r.changed for r in rows)
    lines.append(say("wi_changed", lang, changed=changed, total=len(rows)))
    return "\n".join(_crop(line, width) for line in lines)


__all__ = ["DiffRow", "Outcome", "diff", "format_diff", "summarize"]
