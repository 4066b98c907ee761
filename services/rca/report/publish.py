"""Write a report's files and index it into Elasticsearch so past incidents are found from Kibana."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from services.rca.report import wording as w
from services.rca.report.model import IncidentReport
from services.rca.report.render_html import render_html
from services.rca.report.render_md import render_markdown
from shared.files import UnsafePath, confined, safe_stem

log = logging.getLogger(__name__)


def render(report: IncidentReport, fmt: str, lang: str) -> str:
    """Render ``report`` as ``md`` or ``html``."""
    if fmt == "md":
        return render_markdown(report, lang)
    if fmt == "html":
        return render_html(report, lang)
    raise ValueError(f"unknown report format {fmt!r} (md or html)")


def report_file(out_dir: Path, stem: str, fmt: str) -> Path:
    """Return ``<out_dir>/<stem>.<fmt>``; raise ``UnsafePath`` unless ``stem`` is a plain name inside ``out_dir``."""
    if fmt not in ("md", "html"):
        raise UnsafePath(f"unknown report format {fmt[:20]!r}")
    return confined(out_dir, f"{safe_stem(stem)}.{fmt}")


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file, so readers never see half a report."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)


LANGUAGES: Final = ("en", "ko")


def write_files(
    report: IncidentReport, out_dir: Path, *, formats: Sequence[str], lang: str, stem: str = ""
) -> list[Path]:
    """Write the report in each format as ``<incident_id>.<fmt>`` (replacing earlier versions atomically).

    The incident id (or ``stem``) must be a plain file name: a path such as ``../../x`` or ``/etc/x``
    raises ``UnsafePath`` before anything is written, so no file lands outside ``out_dir``.
    """
    paths = [report_file(out_dir, stem or report.incident.incident_id, fmt) for fmt in formats]
    out_dir.mkdir(parents=True, exist_ok=True)
    for fmt, path in zip(formats, paths, strict=True):
        write_atomically(path, render(report, fmt, lang))
    return paths


def write_languages(
    report: IncidentReport, out_dir: Path, *, formats: Sequence[str], langs: Sequence[str] = LANGUAGES
) -> list[Path]:
    """Write ``<incident_id>.<lang>.<fmt>`` for every language and format, side by side (atomically).

    The rca service writes these beside ``<incident_id>.<fmt>`` (its configured language, the file
    its ``rca.completed`` event names), so a reader finds both languages of every report.
    """
    stem = safe_stem(report.incident.incident_id)
    plan: list[tuple[str, str, Path]] = []
    for lang in langs:
        if lang not in LANGUAGES:
            raise UnsafePath(f"unknown report language {lang[:20]!r}")
        for fmt in formats:
            report_file(out_dir, stem, fmt)  # the format is checked as for the primary file
            plan.append((lang, fmt, confined(out_dir, f"{stem}.{lang}.{fmt}")))
    out_dir.mkdir(parents=True, exist_ok=True)
    for lang, fmt, path in plan:
        write_atomically(path, render(report, fmt, lang))
    return [path for _, _, path in plan]


def document(report: IncidentReport, *, lang: str, paths: list[Path]) -> dict[str, Any]:
    """The Elasticsearch document of a report (one per incident)."""
    inc = report.incident
    top = report.ranking[0] if report.ranking else None
    return {
        "@timestamp": (report.resolved_at or report.opened_at).isoformat(),
        "incident_id": inc.incident_id,
        "title": inc.title,
        "target": inc.target,
        "severity": str(inc.severity),
        "severity_reason": inc.severity_reason,
        "status": str(inc.status),
        "opened_at": report.opened_at.isoformat(),
        "resolved_at": report.resolved_at.isoformat() if report.resolved_at else None,
        "duration_s": report.duration_s,
        "impact_start": report.impact_start.isoformat(),
        "impact_end": report.impact_end.isoformat() if report.impact_end else None,
        "summary": w.summary(report, lang),
        "root_cause_entity": top.entity if top else None,
        "root_cause_signal": top.signal if top else None,
        "ranking": [c.model_dump() for c in report.ranking],
        "recovery": report.recovery,
        "response_target_s": report.compliance.target_s,
        "response_s": report.compliance.response_s,
        "response_target_met": report.compliance.met,
        "fault": report.fault,
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind, "summary": w.timeline_text(e, lang), "events": e.folded}
            for e in report.timeline
        ],
        "improvements": [w.improvement(i, lang)[1] for i in report.improvements],
        "actions": [
            {
                "action_id": i.action_id,
                "section": i.section,
                "topic": i.category,
                "text": w.improvement(i, lang)[1],
                "owner": i.owner,
                "due": i.due.isoformat() if i.due else None,
                "state": i.state,
                "prompt": i.prompt,
            }
            for i in report.improvements
        ],
        "signals": list(inc.signals),
        "lang": lang,
        "report_paths": [str(p) for p in paths],
        "report_markdown": render_markdown(report, lang),
    }


async def index_report(client: AsyncElasticsearch, index: str, doc: dict[str, Any]) -> bool:
    """Index ``doc`` with the incident id as document id; log and return False on failure (never raise)."""
    try:
        await client.index(index=index, id=doc["incident_id"], document=doc, refresh="wait_for")
        return True
    except (ApiError, TransportError, OSError) as exc:
        log.warning("could not index report %s into %s: %s", doc["incident_id"], index, exc)
        return False
