"""Streaming metric anomaly detection: per-series record-envelope detector, pure and checkpointable."""

from .bank import DetectorBank
from .config import DetectorConfig
from .corroborate import corroborate
from .detector import Direction, Score, SeriesDetector
from .explain import explain, format_value
from .kernel import StepResult

__all__ = [
    "DetectorBank",
    "DetectorConfig",
    "Direction",
    "Score",
    "SeriesDetector",
    "StepResult",
    "corroborate",
    "explain",
    "format_value",
]
