"""Event text made readable: ISO instants as human times, and the fixed English phrases of the pipeline in Korean.

Reasons, summaries and details in events are English sentences the services assemble from fixed
templates (``opened: ...; severity ...``, ``down since <instant>``, the manual's severity rules).
A Korean report (and the responder API's timeline when its language is ``ko``) translates those fixed
parts phrase by phrase and leaves what came from outside (metric and entity names, values, log lines)
as it is; the renderers escape the result.
"""

from __future__ import annotations

import re
from typing import Final

from shared.text import human_time, human_times

_TIME: Final = r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC)"
_WHO: Final = r"([^\s;,()]*[^\s;:,()])"  # a person or chat id (``slack:dana.kim``), not the ":" after it
KO_PHRASES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # responder: human decisions (services/responder/domain/decisions.py)
        (r"\bdeclared by " + _WHO + r" \((\w+), impact (\w+)\): ", r"\1 님이 선언 (\2, 영향 \3): "),
        (r"\bdeclared by " + _WHO + r" \((\w+)\): ", r"\1 님이 선언 (\2): "),
        (r"^(\w+): declared by " + _WHO + r"$", r"\1: \2 님이 선언"),
        (r"\bescalation asked by " + _WHO, r"\1 님의 에스컬레이션 요청"),
        (r"\balready at L3, the highest level\b", "이미 최고 단계 L3"),
        (r"\bescalated by " + _WHO + r" from (L\d) to (L\d)", r"\1 님이 \2에서 \3(으)로 에스컬레이션"),
        (r"\b(L\d)'s clock starts\b", r"\1 대응 시계 시작"),
        (r"\bescalated by " + _WHO + r" from chat\b", r"\1 님이 채팅에서 에스컬레이션"),
        (r"\breassigned by " + _WHO + r" to ", r"\1 님이 재배정: "),
        (r"\bseverity override cleared by " + _WHO, r"\1 님이 심각도 재정의 해제"),
        (r"\bautomatic grading applies again\b", "자동 등급이 다시 적용됨"),
        (r"\bseverity set (\w+) → (\w+) by " + _WHO, r"\3 님이 심각도 변경 \1 → \2"),
        (r"^(\w+): set by " + _WHO, r"\1: \2 님이 지정"),
        (r"\bmerged into " + _WHO + r" by " + _WHO, r"\2 님이 \1에 병합"),
        (r"\b" + _WHO + r" merged in by " + _WHO + r" \((\d+) anomalies\)", r"\2 님이 \1 병합 (이상 \3건)"),
        (r"\bsplit by " + _WHO + r": (\d+) anomalies moved to " + _WHO, r"\1 님이 분리: 이상 \2건을 \3(으)로 이동"),
        (r"\bsplit from " + _WHO + r" by " + _WHO, r"\2 님이 \1에서 분리"),
        (r"^split from " + _WHO + r": ", r"\1에서 분리: "),
        # responder: lifecycle reasons
        (r"\bseverity raised (\w+) → (\w+) after holding it\b", r"보류했던 심각도 상향 \1 → \2"),
        (r"\bseverity raised (\w+) → (\w+)", r"심각도 상향 \1 → \2"),
        (r"\brecovery failed: severity raised to the held (\w+)", r"복구 실패: 보류했던 심각도 \1(으)로 상향"),
        (r"\bauto-resolved: every contributing signal clear for (\S+)", r"자동 해결: 모든 관련 신호가 \1 동안 정상"),
        (r"^opened: ", "발생: "),
        (r"\banomaly joined: ", "이상 추가: "),
        (r"\bsignal cleared: ", "신호 정상화: "),
        (r"\bsignal firing again: ", "신호 재발생: "),
        (r"\brecovery verified: target healthy\b", "복구 검증: 대상 정상"),
        (r"\brecovery verified: ", "복구 검증: "),
        (r"\brecovery verified\b", "복구 검증"),
        (r"\brecovery failed: ", "복구 실패: "),
        (r"\balready escalated to (L\d)\b", r"이미 \1(으)로 에스컬레이션됨"),
        (r"\bescalating to (L\d)\b", r"\1(으)로 에스컬레이션"),
        (r"\bescalated to (L\d)\b", r"\1(으)로 에스컬레이션"),
        (
            r"\b(critical|major|minor) response target of (\S+) missed: not acknowledged by " + _TIME,
            r"\1 대응 목표 \2 미준수: \3까지 확인 없음",
        ),
        (r"\bresponse target of (\S+) missed\b", r"대응 목표 \1 미준수"),
        (
            r"\b(critical|major|minor) escalation step (\d+): page (L\d) \(immediately\)",
            r"\1 에스컬레이션 \2단계: \3 호출 (즉시)",
        ),
        (
            r"\b(critical|major|minor) escalation step (\d+): page (L\d) \(unacknowledged after (\d+)s\)",
            r"\1 에스컬레이션 \2단계: \3 호출 (\4초 동안 미확인)",
        ),
        (r"\bnotification (\S+) via (\S+) to (L\d) failed: ", r"\3에 \2(으)로 보낸 알림 \1 실패: "),
        (r"\bnotification (\S+) via (\S+) to (L\d) unknown: ", r"\3에 \2(으)로 보낸 알림 \1 결과 불명: "),
        (r"\binhibited symptom\b", "억제된 증상"),
        (r"\backnowledged by\b", "확인자:"),
        (r"\bresolved by\b", "해결자:"),
        (r"\banomaly on\b", "이상 발생:"),
        (r"\brecovered\b", "복구됨"),
        (r"(^|; )severity critical\b", r"\1심각도 심각"),
        (r"(^|; )severity major\b", r"\1심각도 주요"),
        (r"(^|; )severity minor\b", r"\1심각도 경미"),
        (r"(^|; )severity ", r"\1심각도 "),
        (r"\bheld until the recovery is verified\b", "복구 검증까지 보류"),
        # responder: the manual's severity rules
        (r"\bservice fully down\b", "서비스 전체 중단"),
        (r"\bdata loss or leak\b", "데이터 손실 또는 유출"),
        (r"\bdata leak\b", "데이터 유출"),
        (r"\bsecurity incident\b", "보안 사고"),
        (r"\bmajor function failing\b", "주요 기능 장애"),
        (r"\bsevere performance degradation\b", "심각한 성능 저하"),
        (r"\bpartial outage\b", "부분 중단"),
        (r"\bpartial function (failure|loss)\b", "일부 기능 장애"),
        (r"\bslight degradation\b", "경미한 성능 저하"),
        (r"\bresource pressure\b", "자원 압박"),
        (r"\bno impact\b", "영향 없음"),
        (r"\banomalous\b", "이상"),
        (r" on ([\w.:/-]+)$", r" (\1)"),
        (r"\bservice down\b", "서비스 중단"),
        (r"\bsevere degradation\b", "심각한 성능 저하"),
        (r"\(([^()]*), rule ([\w.-]+)\)", r"(\1, 규칙 \2)"),
        (r"^critical(:)? ", r"심각\1 "),
        (r"^major(:)? ", r"주요\1 "),
        (r"^minor(:)? ", r"경미\1 "),
        (r"^critical: ", "심각: "),
        (r"^major: ", "주요: "),
        (r"^minor: ", "경미: "),
        # detector: anomaly summaries
        (r"\bsecurity-relevant template \(words: ", "보안 관련 로그 템플릿 (단어: "),
        (r"\bleak-relevant template \(words: ", "유출 관련 로그 템플릿 (단어: "),
        (r"\bdata loss-relevant template \(words: ", "데이터 손실 관련 로그 템플릿 (단어: "),
        (r"\bburst ([\d.]+)/min\b", r"분당 \1줄 급증"),
        (r"\bnew, (\d+) lines\b", r"신규, \1줄"),
        (r"\boutbound traffic\b", "외부 송신 트래픽"),
        (r"\btimes its learned level\b", "배 (학습된 평소 수준 대비)"),
        (r": down since " + _TIME, r": \1부터 중단"),
        (r"\bdegraded since " + _TIME + ":", r"\1부터 성능 저하:"),
        (r" since " + _TIME, r" (\1부터)"),
        (r"\(peak ([^()]*)\)", r"(최고 \1)"),
        (r"\bits usual\b", "평소"),
        (r"\bits baseline\b", "기준선"),
        (r"\bwithin its usual range\b", "평소 범위 이내"),
        (r"\(still learning its usual level\)", "(평소 수준 학습 중)"),
        (r"\(usual range ([^()]*)\)", r"(평소 범위 \1)"),
        (r"\b(p\d\d|mean) latency\b", r"\1 지연"),
        (r"\bthroughput\b", "처리량"),
        (r"\bbelow\b", "미만"),
        (r"\babove\b", "초과"),
        (r"\blines in\b", "줄, 기간"),
        (r"\bnew template\b", "새 로그 템플릿"),
        (r"\bnew log pattern\b", "새 로그 패턴"),
        (r"\blog pattern stopped:", "로그 패턴 중단:"),
        (r"\bburst of\b", "급증:"),
        (r"\bvanished template\b", "사라진 로그 템플릿"),
        # rca: ranking evidence
        (r"\bfrom (\S+) to (\S+)", r"\1 → \2"),
        (r" rose to ", " 상승: "),
        (r" fell to ", " 하락: "),
        (r" rose\b", " 상승"),
        (r" fell\b", " 하락"),
        (r" at (\d\d:\d\d:\d\d)( UTC)?\b", r" (\1\2)"),
        (r", (\d+) s before any other entity", r", 다른 개체보다 \1초 먼저"),
        (r"; also ", "; 함께 변한 지표: "),
        (
            r"\bstopped: (\d+) of (\d+) series missing or at zero from ([\d:]+)",
            r"중단: 시계열 \2개 중 \1개가 \3부터 누락 또는 0",
        ),
        (
            r"\bits logging went quiet \((\d+) lines, (\d+%) fewer than usual\)",
            r"로그가 잠잠해짐 (\1줄, 평소보다 \2 적음)",
        ),
        (r"\bits error-log template ", "오류 로그 템플릿 "),
        (r"\bits log template ", "로그 템플릿 "),
        (r"` appeared (?:at|\() ?", "` 출현 ("),
        (r"` surged (?:at|\() ?", "` 급증 ("),
        (r"\((\d+) lines, (\d+%) of its logging\)", r"(\1줄, 전체 로그의 \2)"),
        (r"\bflagged by the live detector \(score", "실시간 탐지기가 표시 (점수"),
        (r"\bpartly explained by (\S+) \(", r"\1에 의해 일부 설명됨 ("),
        (
            r"\ba symptom of (\S+), which sits deeper and added about as much or more",
            r"더 깊은 곳의 \1에서 비롯된 증상",
        ),
        (r"\blikely an effect of (\S+)'s own fault events", r"\1 자체 장애 이벤트의 영향으로 보임"),
        (r"\blikely an effect of (\S+), which stopped", r"중단된 \1의 영향으로 보임"),
        (r"\bits error log names (\S+)", r"오류 로그가 \1을(를) 지목"),
        (r"\bno deviation found\b", "편차 없음"),
        (r"\bdetector: ", "탐지기: "),
        # recovery
        (r"\bround (\d+): ", r"\1회차: "),
        (r"\bproblem '([^']*)' on '([^']*)' \(signals: ([^()]*)\): ", r"'\2'의 문제 '\1' (신호: \3): "),
        (r"\b(\d+) healthy scrapes; last: healthy\b", r"정상 수집 \1회; 마지막: 정상"),
        (r"\b(\d+) healthy scrapes; last: ", r"정상 수집 \1회; 마지막: "),
        (r"\brestarted (\S+): old pid (\d+)\s*,? new pid (\d+)", r"\1 재시작: 이전 PID \2, 새 PID \3"),
        (r"\btarget healthy\b", "대상 정상"),
        (r"\bnew pid\b", "새 PID"),
    )
)


__all__ = ["KO_PHRASES", "human_time", "human_times", "translate"]


def translate(text: str, lang: str) -> str:
    """``text`` with human times, and in Korean its fixed English phrases translated (the rest kept)."""
    text = human_times(text)
    if lang != "ko":
        return text
    for pattern, replacement in KO_PHRASES:
        text = pattern.sub(replacement, text)
    return text
