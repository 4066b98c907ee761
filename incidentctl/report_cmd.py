"""`incidentctl report ID`: rebuild an incident's report from the topics and write it as Markdown or HTML."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from services.rca.analyze import Analysis, analyse, incident_anomaly_since, report_of
from services.rca.gather import Window
from services.rca.report.build import ReportConfig, final_incident
from services.rca.report.collect import collect_history
from services.rca.report.publish import render, report_file, write_atomically
from services.rca.store import WindowStore
from shared.errors import CliError
from shared.settings import ServiceSettings

DEFAULT_LOOKBACK_S = 600.0


class ReportNotFound(CliError, LookupError):
    """No lifecycle event of the incident is on the topics."""


async def render_incident_report(
    settings: ServiceSettings, incident_id: str, *, fmt: str = "html", lang: str = "en",
    lookback_s: float = DEFAULT_LOOKBACK_S, config: ReportConfig | None = None,
) -> str:  # fmt: skip
    """Return the report of ``incident_id`` rendered as ``md`` or ``html`` (for the CLI and the API)."""
    store = WindowStore(retention_s=10 * 365 * 86400.0, max_points=100_000)
    history = await collect_history(settings, incident_id, store=store)
    incident = final_incident(history.events)
    if incident is None:
        raise ReportNotFound(f"no events of incident {incident_id!r} on the topics")
    anomaly_ids = {a for e in history.events if hasattr(e.data, "incident") for a in e.data.incident.anomaly_ids}
    incident = incident.model_copy(update={"anomaly_ids": tuple(sorted(anomaly_ids))})
    rca = history.latest_rca
    now = datetime.now(UTC)
    if rca is not None:
        data = rca.data
        span = Window(data.window_start.timestamp(), incident.opened_at.timestamp(), data.window_end.timestamp())
        analysis = Analysis(span, data.ranking)
    else:
        resolved = [e.time for e in history.events if e.type.endswith("incident.resolved")]
        end = (resolved[-1] if resolved else now).timestamp()
        analysis = analyse(
            store,
            incident,
            end=end,
            lookback_s=lookback_s,
            top=5,
            anomaly_since=incident_anomaly_since(store, incident),
        )
    last = max((e.time.timestamp() for e in history.events), default=analysis.window.end)
    report = report_of(
        history, store, ranking=analysis.ranking, window=analysis.window, config=config or ReportConfig(),
        until=last, now=now,
    )  # fmt: skip
    return render(report, fmt, lang)


def write_report(
    settings_or_bootstrap: ServiceSettings | str, incident_id: str, fmt: str = "html", lang: str = "en",
    out_dir: Path = Path("reports"),
) -> Path:  # fmt: skip
    """Write ``<out_dir>/<incident_id>.<fmt>`` in ``lang`` and return its path.

    Raises:
        ReportNotFound: when the topics hold no event of the incident.
        ValueError: for an unknown format.

    """
    settings = (
        settings_or_bootstrap
        if isinstance(settings_or_bootstrap, ServiceSettings)
        else ServiceSettings(kafka_bootstrap_servers=settings_or_bootstrap)
    )
    if fmt not in ("md", "html"):
        raise ValueError(f"unknown report format {fmt!r} (md or html)")
    path = report_file(out_dir, incident_id, fmt)  # UnsafePath (a ValueError) for ids like ../x
    content = asyncio.run(render_incident_report(settings, incident_id, fmt=fmt, lang=lang))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content)
    return path


__all__ = ["ReportNotFound", "render_incident_report", "write_report"]
