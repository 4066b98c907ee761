"""Sentences shared by the Markdown and HTML renderers, in the report's language.

Fixed words come from the tables in `services.rca.report.i18n`; text that came from events (reasons,
summaries, details, evidence) goes through `services.rca.report.phrases.translate`: ISO instants become
human times and, in Korean, the pipeline's fixed English phrases are translated. The renderers escape.
"""

from __future__ import annotations

from datetime import datetime

from services.rca.report.i18n import duration, text
from services.rca.report.model import Improvement, IncidentReport, TimelineEntry
from services.rca.report.phrases import human_time, translate
from services.rca.report.timeline import SYSTEM_ACTORS

FREE_PARAMS = frozenset({"reason", "summary", "detail", "rationale", "text"})
"""Timeline parameters that are event text: translated phrase by phrase, never trusted."""


def stamp(at: datetime | None, lang: str) -> str:
    """Format a timestamp (UTC, second precision), e.g. ``2026-12-05 14:03:07 UTC``."""
    return human_time(at) if at is not None else text(lang, "ongoing")


def clock(at: datetime) -> str:
    """A timeline time of day, to the millisecond."""
    return at.strftime("%H:%M:%S.%f")[:-3]


def title(report: IncidentReport, lang: str) -> str:
    """The incident's title with human times (and its fixed phrases in Korean)."""
    return translate(report.incident.title, lang)


def severity_label(severity: object, lang: str) -> str:
    """``MAJOR`` / ``주요(Major)``."""
    return text(lang, f"sev_{severity}")


def status_label(status: object, lang: str) -> str:
    """``acknowledged`` / ``확인됨``."""
    return text(lang, f"st_{status}")


def actor_label(actor: str, lang: str) -> tuple[str, bool]:
    """Return (label, is_name): a pipeline service in words, a person's or channel's name as it is."""
    if actor in SYSTEM_ACTORS:
        return text(lang, f"actor_{actor}"), False
    return actor, True


def event_label(kind: str, lang: str) -> str:
    """Words for an event kind (``incident.opened``: "incident opened" / "장애 발생")."""
    label = text(lang, f"ev_{kind}")
    return kind if label == f"ev_{kind}" else label


def signal_label(signal: str, lang: str = "en") -> str:
    """Readable name of a ranked signal (``process.up`` is the process exiting)."""
    words = {
        ("process.up", "en"): "process exit", ("http.up", "en"): "endpoint down",
        ("process.up", "ko"): "프로세스 종료", ("http.up", "ko"): "엔드포인트 중단",
    }  # fmt: skip
    what = words.get((signal, "ko" if lang == "ko" else "en"))
    return f"{signal} ({what})" if what else signal


def timeline_text(entry: TimelineEntry, lang: str) -> str:
    """The sentence of one timeline row in ``lang``."""
    params: dict[str, str] = {}
    for name, value in entry.params.items():
        if name in FREE_PARAMS:
            value = translate(value, lang)
            if name == "detail" and value:
                value = f": {value}"
        elif name == "severity":
            value = severity_label(value, lang)
        elif name == "status":
            value = status_label(value, lang)
        elif name == "kind" and entry.key == "tl_anomaly":
            value = text(lang, f"ak_{value}")
        params[name] = value
    return text(lang, entry.key, **params)


def reason(value: str, lang: str) -> str:
    """A reason or summary from an event in ``lang`` (human times; fixed phrases translated)."""
    return translate(value, lang)


def evidence(value: str, lang: str) -> str:
    """A ranking's evidence in ``lang`` (engine phrases translated; log templates kept)."""
    return translate(value, lang)


def summary(report: IncidentReport, lang: str) -> str:
    """One-paragraph summary of the incident."""
    inc = report.incident
    top = report.ranking[0] if report.ranking else None
    cause = f"{top.entity} / {signal_label(top.signal, lang)}" if top else text(lang, "none")
    resolved = (
        text(lang, "resolved_after", duration=duration(report.duration_s, lang))
        if report.resolved_at
        else text(lang, "still_open")
    )
    line = text(
        lang, "summary_line", title=title(report, lang), severity=severity_label(inc.severity, lang),
        target=inc.target, opened=stamp(report.opened_at, lang), resolved_part=resolved, cause=cause,
        recovery=text(lang, f"rec_{report.recovery}"),
    )  # fmt: skip
    if report.fault:
        line += " " + text(lang, "fault_line", fault=report.fault)
    return line


def compliance(report: IncidentReport, lang: str) -> str:
    """The response-target sentence."""
    c = report.compliance
    limit = duration(c.target_s, lang)
    target = text(lang, "target_immediate" if c.severity == "critical" else "target_within", limit=limit)
    if c.response_s is None:
        idle = "not_needed" if c.verdict == "not needed" else "unknown"
        verdict = text(lang, "missed") if c.met is False else text(lang, idle)
        response = "-"
    else:
        verdict = text(lang, "met" if c.met else "missed")
        response = duration(c.response_s, lang)
    by = c.responded_by or "-"
    by_words = text(lang, f"by_{by}")
    line = text(
        lang, "compliance_line", severity=severity_label(c.severity, lang), target=target, response=response,
        by=by if by_words == f"by_{by}" else by_words, verdict=verdict.upper(),
    )  # fmt: skip
    if c.breached_event:
        line += " " + text(lang, "compliance_breached")
    if c.automatic_s is not None:
        line += " " + text(lang, "compliance_automatic", after=duration(c.automatic_s, lang), by=c.automatic_by)
    return line


def improvement(item: Improvement, lang: str) -> tuple[str, str]:
    """Return (topic label, sentence) of one improvement; a prompt says it is for its owner to fill in."""
    sentence = text(lang, item.key, **item.params)
    if "whatif_key" in item.params:
        sentence += " " + text(lang, item.params["whatif_key"], **item.params)
    if item.prompt:
        sentence = f"({text(lang, 'prompt_mark')}) {sentence}"
    return text(lang, f"cat_{item.category}"), sentence


def due(item: Improvement) -> str:
    """The due date of a follow-up (a day)."""
    return item.due.strftime("%Y-%m-%d") if item.due else "-"
