"""Render a report as Markdown (charts as inline SVG, which CommonMark passes through as HTML).

Every value that comes from an event goes through `shared.text.md_text` / `md_code`: one line,
Markdown and HTML inert, so a title or summary cannot add a line, a link, a script or an image.
"""

from __future__ import annotations

from services.rca.report import wording as w
from services.rca.report.i18n import text
from services.rca.report.model import IncidentReport
from services.rca.report.plan import SECTIONS
from services.rca.report.svg import chart_unit, render_svg
from shared.text import md_code, md_text


class Code(str):
    """A table cell shown as a code span."""

    __slots__ = ()


class Escaped(str):
    """A table cell already made inert (built from `md_text` / `md_code` parts)."""

    __slots__ = ()


def _cell(value: object) -> str:
    if isinstance(value, Escaped):
        return str(value)
    return md_code(value, in_table=True) if isinstance(value, Code) else md_text(value)


def _row(*cells: object) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    return [_row(*header), "|" + "---|" * len(header), *(_row(*r) for r in rows)]


def render_markdown(report: IncidentReport, lang: str = "en") -> str:
    """Return the report as a Markdown document in ``lang`` (``en`` or ``ko``)."""
    inc = report.incident

    def t(key: str) -> str:
        return text(lang, key)

    sev = w.severity_label(inc.severity, lang)
    out = [f"# {t('title')}: {md_text(w.title(report, lang))}", "", f"{md_code(inc.incident_id)} · {t('generated')} "
           f"{w.stamp(report.generated_at, lang)}", ""]  # fmt: skip
    out += [f"## {t('summary')}", "", md_text(w.summary(report, lang), limit=8000), ""]
    out += _table(
        [t("target"), t("severity"), t("status"), t("opened"), t("resolved"), t("recovery")],
        [[inc.target, sev, w.status_label(inc.status, lang), w.stamp(report.opened_at, lang),
          w.stamp(report.resolved_at, lang), t("rec_" + report.recovery)]],
    )  # fmt: skip
    out += ["", f"## {t('severity')}: {md_text(sev)}", "",
            f"**{t('severity_why')}:** {md_text(w.reason(inc.severity_reason, lang))}", ""]  # fmt: skip
    out += [f"## {t('impact')}", "", f"- {t('start')}: {w.stamp(report.impact_start, lang)}"]
    out += [f"- {t('end')}: {w.stamp(report.impact_end, lang)}", "", f"## {t('timeline')}", ""]
    rows: list[list[object]] = []
    for e in report.timeline:
        actor, _ = w.actor_label(e.actor, lang)
        event = Escaped(f"{md_text(w.event_label(e.kind, lang))} {md_code(e.kind, in_table=True)}")
        rows.append([w.clock(e.at), event, w.timeline_text(e, lang),
                     actor])  # fmt: skip
    out += _table([t("time"), t("event"), t("details"), t("actor")], rows)
    out += ["", f"## {t('compliance')}", "", md_text(w.compliance(report, lang)), "", f"## {t('rca')}", ""]
    if report.ranking:
        out += _table(
            [t("rank"), t("entity"), t("signal"), t("score"), t("evidence")],
            [[i, c.entity, w.signal_label(c.signal, lang), f"{c.score:.3f}", w.evidence(c.evidence, lang)]
             for i, c in enumerate(report.ranking, 1)],
        )  # fmt: skip
    else:
        out.append(t("no_ranking"))
    out += ["", f"## {t('charts')}", ""]
    if not report.charts:
        out.append(t("no_charts"))
    for chart in report.charts:
        note = text(lang, "chart_note", unit=chart_unit(chart.metric))
        out += [f"### {md_text(chart.series)}", "", render_svg(chart), "", f"*{md_text(note)}*", ""]
    out += [f"## {t('improvements')}", "", md_text(t("plan_intro")), ""]
    for section, topics in SECTIONS:
        items = sorted((i for i in report.improvements if i.section == section),
                       key=lambda i: topics.index(i.category) if i.category in topics else len(topics))  # fmt: skip
        out += [f"### {t('sec_' + section)}", ""]
        table_rows: list[list[object]] = []
        for item in items:
            label, sentence = w.improvement(item, lang)
            table_rows.append([f"{label}: {sentence}", item.owner, w.due(item), t("state_" + item.state),
                               item.action_id])  # fmt: skip
        out += _table([t("item"), t("owner"), t("due"), t("state"), t("action_id")], table_rows)
        out.append("")
    return "\n".join(out)
