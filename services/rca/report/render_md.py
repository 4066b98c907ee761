"""Render a report as Markdown (charts as inline SVG, which CommonMark passes through as HTML).

Every value that comes from an event goes through `shared.text.md_text` / `md_code`: one line,
Markdown and HTML inert, so a title or summary cannot add a line, a link, a script or an image.
"""

from __future__ import annotations

from services.rca.report import wording as w
from services.rca.report.i18n import text
from services.rca.report.model import IncidentReport
from services.rca.report.svg import render_svg
from shared.text import md_code, md_text


class Code(str):
    """A table cell shown as a code span."""

    __slots__ = ()


def _cell(value: object) -> str:
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

    sev = str(inc.severity).upper()
    out = [f"# {t('title')}: {md_text(inc.title)}", "", f"{md_code(inc.incident_id)} · {t('generated')} "
           f"{w.stamp(report.generated_at, lang)}", ""]  # fmt: skip
    out += [f"## {t('summary')}", "", md_text(w.summary(report, lang), limit=8000), ""]
    out += _table(
        [t("target"), t("severity"), t("status"), t("opened"), t("resolved"), t("recovery")],
        [[inc.target, sev, inc.status, w.stamp(report.opened_at, lang), w.stamp(report.resolved_at, lang),
          t("rec_" + report.recovery)]],
    )  # fmt: skip
    out += ["", f"## {t('severity')}: {sev}", "", f"**{t('severity_why')}:** {md_text(inc.severity_reason)}", ""]
    out += [f"## {t('impact')}", "", f"- {t('start')}: {w.stamp(report.impact_start, lang)}"]
    out += [f"- {t('end')}: {w.stamp(report.impact_end, lang)}", "", f"## {t('timeline')}", ""]
    out += _table(
        [t("time"), t("event"), t("details"), t("actor")],
        [[e.at.strftime("%H:%M:%S.%f")[:-3], Code(e.kind), e.summary, e.actor] for e in report.timeline],
    )
    out += ["", f"## {t('compliance')}", "", md_text(w.compliance(report, lang)), "", f"## {t('rca')}", ""]
    if report.ranking:
        out += _table(
            [t("rank"), t("entity"), t("signal"), t("score"), t("evidence")],
            [[i, c.entity, w.signal_label(c.signal), f"{c.score:.3f}", c.evidence]
             for i, c in enumerate(report.ranking, 1)],
        )  # fmt: skip
    else:
        out.append(t("no_ranking"))
    out += ["", f"## {t('charts')}", ""]
    if not report.charts:
        out.append(t("no_charts"))
    for chart in report.charts:
        caption = text(lang, "chart_caption", series=chart.series)
        out += [f"### {md_text(chart.series)}", "", render_svg(chart), "", f"*{md_text(caption)}*", ""]
    out += [f"## {t('improvements')}", ""]
    for item in report.improvements:
        label, sentence = w.improvement(item, lang)
        out.append(f"- **{md_text(label)}:** {md_text(sentence)}")
    out.append("")
    return "\n".join(out)
