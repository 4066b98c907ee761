"""Sentences shared by the Markdown and HTML renderers."""

from __future__ import annotations

from datetime import datetime

from services.rca.report.i18n import duration, text
from services.rca.report.model import Improvement, IncidentReport


def stamp(at: datetime | None, lang: str) -> str:
    """Format a timestamp (UTC, second precision)."""
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at is not None else text(lang, "ongoing")


def signal_label(signal: str) -> str:
    """Readable name of a ranked signal (``process.up`` is the process exiting)."""
    if signal == "process.up":
        return "process.up (process exit)"
    if signal == "http.up":
        return "http.up (endpoint down)"
    return signal


def summary(report: IncidentReport, lang: str) -> str:
    """One-paragraph summary of the incident."""
    inc = report.incident
    top = report.ranking[0] if report.ranking else None
    cause = f"{top.entity} / {signal_label(top.signal)}" if top else text(lang, "none")
    resolved = (
        text(lang, "resolved_after", duration=duration(report.duration_s, lang))
        if report.resolved_at
        else text(lang, "still_open")
    )
    line = text(
        lang, "summary_line", title=inc.title, severity=str(inc.severity).upper(), target=inc.target,
        opened=stamp(report.opened_at, lang), resolved_part=resolved, cause=cause,
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
    line = text(
        lang, "compliance_line", severity=c.severity.upper(), target=target, response=response,
        by=c.responded_by or "-", verdict=verdict.upper(),
    )  # fmt: skip
    if c.breached_event:
        line += " " + text(lang, "compliance_breached")
    if c.automatic_s is not None:
        line += " " + text(lang, "compliance_automatic", after=duration(c.automatic_s, lang), by=c.automatic_by)
    return line


def improvement(item: Improvement, lang: str) -> tuple[str, str]:
    """Return (category label, sentence) of one improvement."""
    return text(lang, f"cat_{item.category}"), text(lang, item.key, **item.params)
