"""The report's phrase translation lives in `shared.phrases` (the responder API's timeline uses it too)."""

from __future__ import annotations

from shared.phrases import KO_PHRASES, human_time, human_times, translate

__all__ = ["KO_PHRASES", "human_time", "human_times", "translate"]
