"""`incidentctl rca rank`: rank the root-cause candidates of an offline case folder."""

from __future__ import annotations

import math
from pathlib import Path

from services.detector.domain.logmining import TemplateMiner
from services.rca.casefile import load_case
from services.rca.domain import RcaConfig, rank_causes


class LogAnalyzerMiner:
    """The live log analyzer's template miner behind the RCA engine's `MergingMiner` protocol.

    It mines as it reads, so a template given early may merge into a more general one later;
    `canonical` returns the final one once every line was read.
    """

    def __init__(self) -> None:
        self._miner = TemplateMiner()
        self._ids: dict[str, str] = {}

    def template_of(self, message: str) -> str:
        """Mine `message` and return its template as known now."""
        match = self._miner.add(message)
        self._ids.setdefault(match.template, match.template_id)
        return match.template

    def canonical(self, template: str) -> str:
        """Return the final template of a template returned earlier."""
        template_id = self._ids.get(template)
        final = self._miner.template_of(template_id) if template_id is not None else None
        return final or template


def rank_case_dir(path: Path, *, config: RcaConfig | None = None) -> dict[str, list[dict[str, object]]]:
    """Load the case folder at `path` and return {"ranking": [{entity, score, evidence, ...}]}, best first.

    Raises:
        services.rca.casefile.CaseFileError: when the folder or one of its files is malformed.

    """
    case = load_case(path)
    ranking: list[dict[str, object]] = []
    seen: set[str] = set()
    for candidate in rank_causes(case, config=config, miner=LogAnalyzerMiner()):
        if candidate.entity in seen:
            continue
        seen.add(candidate.entity)
        ranking.append(
            {
                "entity": candidate.entity,
                "score": candidate.score if math.isfinite(candidate.score) else 0.0,
                "evidence": candidate.evidence,
                "signal": candidate.signal,
                "first_deviation": candidate.first_deviation,
            }
        )
    return {"ranking": ranking}
