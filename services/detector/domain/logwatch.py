"""Log records -> templates -> pattern findings -> one anomaly episode per (service, template).

The miner names each message's template; pattern analysis reports new, bursting or vanished
templates as findings that carry counts, samples and a time window. Every finding about the same
template of the same service is evidence for one signal, ``log:<template_id>``, and goes through
the same episode tracker as the metric signals: one burst is one anomaly, updated as its count
doubles, resolved once no finding about it has been open for the tracker's close delay.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from services.detector.domain.critical import CriticalClass, classify_template, explanation
from services.detector.domain.evidence import Evidence, combine
from services.detector.domain.logmining import TemplateMiner
from services.detector.domain.logmining.findings import (
    FindingKind,
    LogFinding,
    LogRecord,
    RateSpike,
    TemplatedRecord,
)
from services.detector.domain.logmining.patterns import PatternAnalyzer, PatternConfig
from services.detector.domain.tracker import Emission, Episode, TrackerConfig, advance, dump_episode, load_episode
from shared.models import AnomalyKind, Impact

STATE_FORMAT: Final = 1
ALERT_LEVELS: Final = frozenset({"ERROR", "CRITICAL", "FATAL", "SEVERE", "WARN", "WARNING"})
_SCORES: Final = {FindingKind.RATE_SPIKE: 0.9, FindingKind.NEW_TEMPLATE: 0.6, FindingKind.TEMPLATE_VANISHED: 0.5}
_WORDS: Final = {
    FindingKind.RATE_SPIKE: "burst of",
    FindingKind.NEW_TEMPLATE: "new log pattern",
    FindingKind.TEMPLATE_VANISHED: "log pattern stopped:",
}


@dataclass(frozen=True, slots=True)
class LogWatchConfig:
    """What log findings are reported, and with which impact."""

    patterns: PatternConfig = field(default_factory=PatternConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    report: frozenset[FindingKind] = frozenset(FindingKind)
    new_template_levels: frozenset[str] = ALERT_LEVELS
    impact: Impact = Impact.PARTIAL_FUNCTION
    unknown_service: str = "unknown"
    critical_classes: bool = True
    """Classify templates into security, leak and data loss (`critical`): those get the Critical impacts."""


CRITICAL_IMPACT: Final = {
    CriticalClass.SECURITY: Impact.SECURITY,
    CriticalClass.LEAK: Impact.DATA_LOSS,
    CriticalClass.DATA_LOSS: Impact.DATA_LOSS,
}
"""The manual's Critical impact of each class: a leak is "data loss or leak"."""


def activity(finding: LogFinding) -> str:
    """Say how loud a finding is: ``burst 40/min`` for a spike, ``new, 12 lines`` for a new template."""
    if isinstance(finding, RateSpike):
        return f"burst {finding.peak_per_bucket * 60.0 / finding.bucket_seconds:.3g}/min"
    if finding.kind is FindingKind.NEW_TEMPLATE:
        return f"new, {finding.count} lines"
    return f"{finding.count} lines"


def finding_evidence(finding: LogFinding, impact: Impact, *, critical: bool = True) -> Evidence:
    """Describe one finding as evidence on the ``log:<template_id>`` signal.

    With ``critical``, a template of a Critical class (`critical.classify_template`) that bursts or
    appears gets that class's impact, the ``problem`` label (``security``, ``leak``, ``data_loss``)
    and the reason in ``problem_reason`` and at the head of the summary.
    """
    window = f"{finding.window_start.isoformat()}..{finding.window_end.isoformat()}"
    detail = ""
    if isinstance(finding, RateSpike):
        per = f"{finding.bucket_seconds:g} s"
        detail = f" (baseline {finding.baseline_per_bucket:.3g}, peak {finding.peak_per_bucket} per {per})"
    level = f"{finding.level} " if finding.level else ""
    summary = f"{_WORDS[finding.kind]} {level}'{finding.template}': {finding.count} lines in {window}{detail}"
    score, extra = _SCORES[finding.kind], {}
    verdict = classify_template(finding.template, finding.level) if critical else None
    if verdict is not None and verdict.critical and finding.kind is not FindingKind.TEMPLATE_VANISHED:
        reason = explanation(verdict, activity(finding))
        impact, score, summary = CRITICAL_IMPACT[verdict.cls], max(score, verdict.score), f"{reason}; {summary}"
        extra = {
            "problem": verdict.cls.value,
            "problem_reason": reason,
            "problem_words": ", ".join(verdict.words),
            "problem_score": f"{verdict.score:.2f}",
        }
    return Evidence(
        signal=f"log:{finding.template_id}",
        kind=AnomalyKind.LOG_PATTERN,
        impact=impact,
        score=score,
        since=finding.window_start,
        summary=summary,
        observed=float(finding.count),
        unit="lines",
        direction="down" if finding.kind is FindingKind.TEMPLATE_VANISHED else "up",
        labels={
            "template": finding.template,
            "template_id": finding.template_id,
            "finding": finding.kind.value,
            "level": finding.level,
            "window_start": finding.window_start.isoformat(),
            "window_end": finding.window_end.isoformat(),
            "count": str(finding.count),
        }
        | extra,
        samples=finding.samples,
    )


class LogWatch:
    """Template miner, pattern analysis and log anomaly episodes of every service."""

    def __init__(self, config: LogWatchConfig, miner: TemplateMiner | None = None) -> None:
        self.config = config
        self.miner = miner or TemplateMiner()
        self.analyzer = PatternAnalyzer(config.patterns)
        self.cursor: datetime | None = None
        self.hosts: dict[str, str] = {}
        self.open: dict[tuple[str, str], dict[str, LogFinding]] = {}
        self.episodes: dict[tuple[str, str], Episode] = {}
        self.last_finding: dict[tuple[str, str], LogFinding] = {}
        self.tail: dict[tuple[str, str], tuple[datetime, int]] = {}

    def ingest(self, record: LogRecord) -> None:
        """Mine and count one log record; findings it causes are kept until the next `tick`."""
        match = self.miner.add(record.message)
        service = record.service or self.config.unknown_service
        self.hosts[service] = record.host or self.hosts.get(service, "")
        templated = TemplatedRecord(
            record.timestamp, record.level.upper(), service, match.template_id, match.template, record.message
        )
        self._keep(self.analyzer.observe(templated))
        key = (service, f"log:{match.template_id}")
        if key in self.last_finding and templated.level in ALERT_LEVELS:
            last, count = self.tail.get(key, (record.timestamp, 0))
            self.tail[key] = (max(last, record.timestamp), count + 1)
        if self.cursor is None or record.timestamp > self.cursor:
            self.cursor = record.timestamp

    def tick(self, now: datetime) -> list[Emission]:
        """Close finished buckets at ``now`` and return the log anomaly revisions to publish."""
        self._keep(self.analyzer.tick(now))
        out: list[Emission] = []
        for key in sorted(set(self.open) | set(self.episodes)):
            service = key[0]
            findings = list(self.open.get(key, {}).values()) or self._still_bursting(key, now)
            evidence = combine(
                finding_evidence(f, self.config.impact, critical=self.config.critical_classes) for f in findings
            )
            emission = advance(
                self.episodes,
                key,
                evidence,
                target=service,
                host=self.hosts.get(service, ""),
                now=now,
                config=self.config.tracker,
            )
            if key not in self.episodes and key not in self.open:
                self.last_finding.pop(key, None)
                self.tail.pop(key, None)
            if emission is not None:
                out.append(emission)
        self.open = {k: v for k, v in self.open.items() if v}
        return out

    def _still_bursting(self, key: tuple[str, str], now: datetime) -> list[LogFinding]:
        """Keep an error episode open while its lines keep coming after its findings closed.

        A brand-new error template is reported as new for a while, then becomes part of the
        baseline; the burst is not over until its lines stop, so the last finding is carried on
        with the lines counted since, as long as one arrived within the tracker's close delay.
        """
        last, tail = self.last_finding.get(key), self.tail.get(key)
        if key not in self.episodes or last is None or tail is None:
            return []
        if (now - tail[0]).total_seconds() > self.config.tracker.close_delay_s:
            return []
        return [replace(last, count=max(last.count, tail[1]), window_end=max(last.window_end, tail[0]))]

    def _keep(self, findings: list[LogFinding]) -> None:
        for finding in findings:
            if not self._reported(finding):
                continue
            key = (finding.service, f"log:{finding.template_id}")
            self.last_finding[key] = finding
            current = self.open.setdefault(key, {})
            if finding.is_open:
                current[finding.finding_id] = finding
            else:
                current.pop(finding.finding_id, None)

    def _reported(self, finding: LogFinding) -> bool:
        if finding.kind not in self.config.report:
            return False
        level = finding.level.upper()
        if finding.kind is FindingKind.NEW_TEMPLATE:
            if self.config.critical_classes and classify_template(finding.template, level).critical:
                return True  # a new admin session or privilege change is news at any level
            return level in self.config.new_template_levels
        if finding.kind is FindingKind.TEMPLATE_VANISHED:
            return level not in ALERT_LEVELS  # errors that stop are good news
        return True

    def dumps(self) -> bytes:
        """Checkpoint template ids, the read cursor and open episodes (pattern baselines are relearnt)."""
        doc = {
            "format": STATE_FORMAT,
            "miner": base64.b64encode(self.miner.dumps()).decode(),
            "cursor": self.cursor.isoformat() if self.cursor else None,
            "hosts": self.hosts,
            "episodes": [[svc, sig, *dump_episode(e)] for (svc, sig), e in self.episodes.items()],
        }
        return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)

    @classmethod
    def loads(cls, data: bytes, config: LogWatchConfig) -> LogWatch:
        """Rebuild from `dumps` output: same template ids, same cursor, same open episodes."""
        doc = json.loads(zlib.decompress(data))
        if doc.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown log state format {doc.get('format')!r}")
        watch = cls(config, TemplateMiner.loads(base64.b64decode(doc["miner"])))
        watch.cursor = datetime.fromisoformat(doc["cursor"]) if doc["cursor"] else None
        watch.hosts = dict(doc["hosts"])
        watch.episodes = {(svc, sig): load_episode(a, t, x) for svc, sig, a, t, x in doc["episodes"]}
        return watch
