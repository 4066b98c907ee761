"""Streaming log template mining and log pattern analysis (pure, no I/O)."""

from services.detector.domain.logmining.findings import (
    FindingKind,
    LogFinding,
    LogRecord,
    NewTemplate,
    RateSpike,
    TemplatedRecord,
    TemplateVanished,
)
from services.detector.domain.logmining.interface import Match, MinerConfig, TemplateSummary
from services.detector.domain.logmining.miner import TemplateMiner
from services.detector.domain.logmining.patterns import PatternAnalyzer, PatternConfig

__all__ = [
    "FindingKind",
    "LogFinding",
    "LogRecord",
    "Match",
    "MinerConfig",
    "NewTemplate",
    "PatternAnalyzer",
    "PatternConfig",
    "RateSpike",
    "TemplateMiner",
    "TemplateSummary",
    "TemplateVanished",
    "TemplatedRecord",
]
