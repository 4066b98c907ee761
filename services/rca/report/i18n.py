"""Report wording in English and Korean (one table per language, same keys)."""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["en", "ko"]

EN: Final[dict[str, str]] = {
    "title": "Incident report",
    "summary": "Summary",
    "severity": "Severity",
    "severity_why": "Why this severity",
    "impact": "Impact window",
    "timeline": "Timeline",
    "compliance": "Response-target compliance",
    "rca": "Root-cause ranking",
    "charts": "Key metrics around the incident",
    "improvements": "Improvement plan",
    "target": "Target",
    "status": "Status",
    "opened": "Opened",
    "resolved": "Resolved",
    "duration": "Duration",
    "recovery": "Automatic recovery",
    "generated": "Generated",
    "time": "Time",
    "topic": "Topic",
    "event": "Event",
    "details": "Details",
    "actor": "By",
    "rank": "#",
    "entity": "Entity",
    "signal": "Signal",
    "score": "Score",
    "evidence": "Evidence",
    "start": "start",
    "end": "end",
    "ongoing": "ongoing",
    "none": "none",
    "met": "met",
    "missed": "missed",
    "unknown": "not measured (no response yet)",
    "not_needed": "not needed (resolved automatically within the target)",
    "compliance_line": "Severity {severity}: target {target}; first response after {response} ({by}) - {verdict}.",
    "compliance_breached": "A response-target breach was recorded.",
    "compliance_automatic": "Automatic recovery began after {after} ({by}); it does not count as a response.",
    "target_immediate": "immediate (within {limit})",
    "target_within": "within {limit}",
    "chart_caption": "{series}: shaded = impact window, red marks = detector anomalies.",
    "no_charts": "No metrics were available for this window.",
    "no_ranking": "No root-cause candidate was found.",
    "summary_line": (
        "{title}: a {severity} incident on {target}, opened {opened}, {resolved_part}. "
        "Most likely cause: {cause}. Automatic recovery: {recovery}."
    ),
    "resolved_after": "resolved after {duration}",
    "still_open": "still open",
    "fault_line": "Injected fault (chaos record): {fault}.",
    "rec_verified": "verified (target healthy again)",
    "rec_failed": "failed (escalated to humans)",
    "rec_running": "in progress",
    "rec_none": "not attempted",
    "cat_threshold": "Threshold",
    "cat_noisy": "Noisy alert",
    "cat_silent": "Silent alert",
    "cat_follow-up": "Follow-up",
    "noisy_threshold": (
        "Rule {rule} fired {fired} times, {linked} of them part of an incident: raise its threshold "
        "from {current} to {suggested}."
    ),
    "noisy_rule": "Rule {rule} fired {fired} times, {linked} of them part of an incident: add a duration or mute it.",
    "silent_signal_threshold": (
        "No alert fired on {entity} {signal} although it was a top cause: add a rule {signal} {op} {suggested}."
    ),
    "silent_signal": "No alert fired on {entity} {signal} although it was a top cause: add a rule for it.",
    "investigate": "Investigate {entity} ({signal}) and fix the underlying defect.",
    "recovery_failed": "Automatic recovery failed ({detail}): review the runbook and the declared actions.",
    "no_recovery": "No automatic recovery ran: declare a recovery action for {target} if one is safe.",
    "response_missed": "The {severity} response target ({target} s) was missed: review paging and on-call.",
    "recurring": "This incident recurs (previous: {previous}): open a problem record.",
    "postmortem": "Hold a blameless review of {target} and track these actions to closure.",
}

KO: Final[dict[str, str]] = {
    "title": "장애 보고서",
    "summary": "요약",
    "severity": "심각도",
    "severity_why": "심각도 판단 근거",
    "impact": "영향 시간대",
    "timeline": "타임라인",
    "compliance": "대응 목표 준수",
    "rca": "근본 원인 순위",
    "charts": "장애 전후 주요 지표",
    "improvements": "개선 계획",
    "target": "대상",
    "status": "상태",
    "opened": "발생",
    "resolved": "해결",
    "duration": "지속 시간",
    "recovery": "자동 복구",
    "generated": "생성 시각",
    "time": "시각",
    "topic": "토픽",
    "event": "이벤트",
    "details": "내용",
    "actor": "주체",
    "rank": "순위",
    "entity": "개체",
    "signal": "신호",
    "score": "점수",
    "evidence": "근거",
    "start": "시작",
    "end": "종료",
    "ongoing": "진행 중",
    "none": "없음",
    "met": "준수",
    "missed": "미준수",
    "unknown": "측정 불가 (아직 대응 없음)",
    "not_needed": "불필요 (목표 시간 내 자동 해결)",
    "compliance_line": "심각도 {severity}: 목표 {target}; 최초 대응까지 {response} ({by}) - {verdict}.",
    "compliance_breached": "대응 목표 위반이 기록되었습니다.",
    "compliance_automatic": "자동 복구가 {after} 후 시작되었습니다({by}). 이는 대응으로 계산되지 않습니다.",
    "target_immediate": "즉시 ({limit} 이내)",
    "target_within": "{limit} 이내",
    "chart_caption": "{series}: 음영 = 영향 시간대, 빨간 표시 = 탐지된 이상.",
    "no_charts": "이 시간대의 지표가 없습니다.",
    "no_ranking": "근본 원인 후보를 찾지 못했습니다.",
    "summary_line": (
        "{title}: {target}에서 {severity} 장애가 {opened}에 발생했고 {resolved_part}. "
        "가장 유력한 원인: {cause}. 자동 복구: {recovery}."
    ),
    "resolved_after": "{duration} 후 해결되었습니다",
    "still_open": "아직 해결되지 않았습니다",
    "fault_line": "주입된 장애 (카오스 기록): {fault}.",
    "rec_verified": "검증됨 (대상 정상화)",
    "rec_failed": "실패 (담당자에게 에스컬레이션)",
    "rec_running": "진행 중",
    "rec_none": "시도하지 않음",
    "cat_threshold": "임계값",
    "cat_noisy": "과다 알림",
    "cat_silent": "누락 알림",
    "cat_follow-up": "후속 조치",
    "noisy_threshold": (
        "규칙 {rule}이(가) {fired}회 발생했으나 장애와 연결된 것은 {linked}회입니다: "
        "임계값을 {current}에서 {suggested}(으)로 올리십시오."
    ),
    "noisy_rule": (
        "규칙 {rule}이(가) {fired}회 발생했으나 장애와 연결된 것은 {linked}회입니다: 지속 조건을 추가하거나 끄십시오."
    ),
    "silent_signal_threshold": (
        "{entity}의 {signal}은(는) 주요 원인이었지만 알림이 없었습니다: "
        "규칙 {signal} {op} {suggested}을(를) 추가하십시오."
    ),
    "silent_signal": "{entity}의 {signal}은(는) 주요 원인이었지만 알림이 없었습니다: 규칙을 추가하십시오.",
    "investigate": "{entity} ({signal})을(를) 조사하여 근본 결함을 수정하십시오.",
    "recovery_failed": "자동 복구 실패 ({detail}): 런북과 선언된 복구 조치를 검토하십시오.",
    "no_recovery": "자동 복구가 실행되지 않았습니다: 안전하다면 {target}에 복구 조치를 선언하십시오.",
    "response_missed": "{severity} 대응 목표({target}초)를 지키지 못했습니다: 호출 및 당번 체계를 검토하십시오.",
    "recurring": "재발한 장애입니다 (이전: {previous}): 문제 관리 기록을 여십시오.",
    "postmortem": "{target}에 대해 비난 없는 회고를 진행하고 조치 항목을 끝까지 추적하십시오.",
}

TABLES: Final[dict[str, dict[str, str]]] = {"en": EN, "ko": KO}


def text(lang: str, key: str, **params: object) -> str:
    """Return the ``key`` text in ``lang`` (English when missing) with ``params`` filled in."""
    table = TABLES.get(lang, EN)
    template = table.get(key) or EN.get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def duration(seconds: float | None, lang: str) -> str:
    """Format a duration such as ``1h 02m 03s`` (``1시간 2분 3초`` in Korean)."""
    if seconds is None:
        return text(lang, "ongoing")
    total = round(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    if lang == "ko":
        parts = [f"{h}시간" if h else "", f"{m}분" if m else "", f"{s}초" if s or not (h or m) else ""]
    else:
        parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s or not (h or m) else ""]
    return " ".join(p for p in parts if p)
