"""Pure root-cause analysis engine: rank the entities most likely to have caused an incident."""

from services.rca.domain.config import RcaConfig
from services.rca.domain.log_evidence import MaskingMiner, TemplateMiner
from services.rca.domain.model import (
    AnomalyHint,
    Candidate,
    Case,
    LogLine,
    MetricFrame,
    RcaError,
    Topology,
)
from services.rca.domain.ranking import rank_causes

__all__ = [
    "AnomalyHint",
    "Candidate",
    "Case",
    "LogLine",
    "MaskingMiner",
    "MetricFrame",
    "RcaConfig",
    "RcaError",
    "TemplateMiner",
    "Topology",
    "rank_causes",
]
