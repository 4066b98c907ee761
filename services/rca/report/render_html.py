"""Render a report as one self-contained HTML page: inline CSS and SVG, no JavaScript, no external links."""

from __future__ import annotations

from html import escape

from services.rca.report import wording as w
from services.rca.report.i18n import duration, text
from services.rca.report.model import IncidentReport
from services.rca.report.plan import SECTIONS
from services.rca.report.svg import chart_unit, render_svg

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans KR","Malgun Gothic","Apple SD Gothic Neo",
"NanumGothic",sans-serif;margin:2rem auto;max-width:960px;color:#1c1c24;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f4f4f8}.sev{display:inline-block;padding:.1rem .5rem;
border-radius:.3rem;color:#fff;font-weight:600}.sev-critical{background:#c62828}.sev-major{background:#ef6c00}
.sev-minor{background:#f9a825;color:#222}.met{color:#1b7f3b;font-weight:600}.missed{color:#c62828;font-weight:600}
.muted{color:#666;font-size:.85rem}.prompt{color:#6b5b00}.done{color:#1b7f3b}.kind{color:#777;font-size:.75rem}td.nw{white-space:nowrap}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}code{font-size:.85rem}
"""


def render_html(report: IncidentReport, lang: str = "en") -> str:
    """Return the report as a self-contained HTML document in ``lang`` (``en`` or ``ko``).

    Names (incident id, targets, entities, signals, people, channels) are shown as ``<code>``; every
    sentence around them is in ``lang``.
    """
    inc = report.incident

    def t(key: str) -> str:
        return escape(text(lang, key))

    def code(value: object) -> str:
        return f"<code>{escape(str(value))}</code>"

    sev = str(inc.severity)
    sev_label = escape(w.severity_label(sev, lang))
    title = escape(w.title(report, lang))
    body = [
        f"<h1>{t('title')}: {title}</h1>",
        f'<p class="muted">{code(inc.incident_id)} · {t("generated")} {escape(w.stamp(report.generated_at, lang))}</p>',
        f'<section id="summary"><h2>{t("summary")}</h2><p>{escape(w.summary(report, lang))}</p>',
        f"<table><tr><th>{t('target')}</th><th>{t('severity')}</th><th>{t('status')}</th><th>{t('opened')}</th>"
        f"<th>{t('resolved')}</th><th>{t('duration')}</th><th>{t('recovery')}</th></tr>"
        f"<tr><td>{code(inc.target)}</td><td><span class='sev sev-{escape(sev)}'>{sev_label}</span></td>"
        f"<td>{escape(w.status_label(inc.status, lang))}</td><td>{escape(w.stamp(report.opened_at, lang))}</td>"
        f"<td>{escape(w.stamp(report.resolved_at, lang))}</td>"
        f"<td>{escape(duration(report.duration_s, lang))}</td><td>{t('rec_' + report.recovery)}</td></tr>"
        "</table></section>",
        f'<section id="severity"><h2>{t("severity")}: <span class="sev sev-{escape(sev)}">{sev_label}</span></h2>'
        f"<p><strong>{t('severity_why')}:</strong> {escape(w.reason(inc.severity_reason, lang))}</p></section>",
        f'<section id="impact"><h2>{t("impact")}</h2><ul><li>{t("start")}: {escape(w.stamp(report.impact_start, lang))}'
        f"</li><li>{t('end')}: {escape(w.stamp(report.impact_end, lang))}</li></ul></section>",
        f'<section id="timeline"><h2>{t("timeline")}</h2><table><tr><th>{t("time")}</th><th>{t("event")}</th>'
        f"<th>{t('details')}</th><th>{t('actor')}</th></tr>",
    ]
    for entry in report.timeline:
        actor, is_name = w.actor_label(entry.actor, lang)
        body.append(
            f"<tr><td>{escape(w.clock(entry.at))}</td><td>{escape(w.event_label(entry.kind, lang))}<br>"
            f'<code class="kind">{escape(entry.kind)}</code></td><td>{escape(w.timeline_text(entry, lang))}</td>'
            f"<td>{code(actor) if is_name and actor else escape(actor)}</td></tr>"
        )
    verdict = "met" if report.compliance.met else "missed" if report.compliance.met is False else "muted"
    body.append("</table></section>")
    body.append(
        f'<section id="compliance"><h2>{t("compliance")}</h2><p class="{verdict}">'
        f"{escape(w.compliance(report, lang))}</p></section>"
    )
    body.append(f'<section id="rca"><h2>{t("rca")}</h2>')
    if report.ranking:
        body.append(
            f"<table><tr><th>{t('rank')}</th><th>{t('entity')}</th><th>{t('signal')}</th><th>{t('score')}</th>"
            f"<th>{t('evidence')}</th></tr>"
        )
        for i, cand in enumerate(report.ranking, 1):
            body.append(
                f"<tr><td>{i}</td><td>{code(cand.entity)}</td><td>{code(w.signal_label(cand.signal, lang))}</td>"
                f"<td>{cand.score:.3f}</td><td>{escape(w.evidence(cand.evidence, lang))}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append(f"<p>{t('no_ranking')}</p>")
    body.append(f'</section><section id="charts"><h2>{t("charts")}</h2>')
    if not report.charts:
        body.append(f"<p>{t('no_charts')}</p>")
    for chart in report.charts:
        note = escape(text(lang, "chart_note", unit=chart_unit(chart.metric)))
        body.append(f"<figure>{render_svg(chart)}<figcaption>{code(chart.series)}: {note}</figcaption></figure>")
    body.append(f'</section><section id="improvements"><h2>{t("improvements")}</h2><p>{t("plan_intro")}</p>')
    for section, topics in SECTIONS:
        items = [i for i in report.improvements if i.section == section]
        body.append(
            f'<h3 id="plan-{section}">{t("sec_" + section)}</h3><table><tr><th>{t("item")}</th><th>{t("owner")}</th>'
            f"<th>{t('due')}</th><th>{t('state')}</th><th>{t('action_id')}</th></tr>"
        )
        for item in sorted(items, key=lambda i: topics.index(i.category) if i.category in topics else len(topics)):
            label, sentence = w.improvement(item, lang)
            cls = "prompt" if item.prompt else item.state
            body.append(
                f'<tr class="{escape(cls)}"><td><strong>{escape(label)}:</strong> {escape(sentence)}</td>'
                f'<td class="nw">{escape(item.owner)}</td><td class="nw">{escape(w.due(item))}</td>'
                f'<td class="nw">{t("state_" + item.state)}</td><td class="nw">{code(item.action_id)}</td></tr>'
            )
        body.append("</table>")
    body.append("</section>")
    head_title = escape(f"{text(lang, 'title')}: {w.title(report, lang)}")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{head_title}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
