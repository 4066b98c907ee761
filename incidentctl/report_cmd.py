"""`incidentctl report ID`: rebuild an incident's report from the topics and write it as Markdown or HTML."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from incidentctl.exits import say
from services.rca.report.build import ReportConfig
from services.rca.report.collect import collect_history
from services.rca.report.publish import render, report_file, write_atomically
from services.rca.usecase import RankingPolicy, RcaUseCase
from shared.errors import CliError
from shared.files import confined, safe_stem
from shared.settings import ServiceSettings

DEFAULT_LOOKBACK_S = 600.0
TOP_CANDIDATES = 5


class ReportNotFound(CliError, LookupError):
    """No lifecycle event of the incident is on the topics."""


async def render_incident_report(
    settings: ServiceSettings, incident_id: str, *, fmt: str = "html", lang: str = "en",
    lookback_s: float = DEFAULT_LOOKBACK_S, config: ReportConfig | None = None,
) -> str:  # fmt: skip
    """Return the report of ``incident_id`` rendered as ``md`` or ``html`` (for the CLI and the API).

    Rebuilt from the topics alone (`RcaUseCase.rebuild`): the latest RCA result's ranking if there is one.
    """
    rca = RcaUseCase(
        partial(collect_history, settings),
        RankingPolicy(lookback_s=lookback_s, top=TOP_CANDIDATES),
        config or ReportConfig(),
    )
    report = await rca.rebuild(incident_id)
    if report is None:
        raise ReportNotFound(say("err_no_report", incident=incident_id))
    return render(report, fmt, lang)


def write_report(
    settings_or_bootstrap: ServiceSettings | str, incident_id: str, fmt: str = "html", lang: str = "en",
    out_dir: Path = Path("reports"),
) -> Path:  # fmt: skip
    """Write ``<out_dir>/<incident_id>.<lang>.<fmt>`` and return its path (ko and en side by side).

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
    if lang not in ("en", "ko"):
        raise ValueError(f"unknown report language {lang!r} (en or ko)")
    report_file(out_dir, incident_id, fmt)  # UnsafePath (a ValueError) for ids like ../x
    path = confined(out_dir, f"{safe_stem(incident_id)}.{lang}.{fmt}")  # the rca service's own naming
    content = asyncio.run(render_incident_report(settings, incident_id, fmt=fmt, lang=lang))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content)
    return path


__all__ = ["ReportNotFound", "render_incident_report", "write_report"]
