"""`incidentctl rca rank`: rank the root-cause candidates of an offline case folder."""

from __future__ import annotations

import math
from pathlib import Path

from services.rca.casefile import load_case
from services.rca.domain import RcaConfig, rank_causes


def rank_case_dir(path: Path, *, config: RcaConfig | None = None) -> dict[str, list[dict[str, object]]]:
    """Load the case folder at `path` and return {"ranking": [{entity, score, evidence, ...}]}, best first.

    Raises:
        services.rca.casefile.CaseFileError: when the folder or one of its files is malformed.

    """
    case = load_case(path)
    ranking: list[dict[str, object]] = []
    seen: set[str] = set()
    for candidate in rank_causes(case, config=config):
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
