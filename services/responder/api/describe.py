"""One human line per event, for the console's and the CLI's timelines, in the API's language.

Fixed words come from `_SENTENCES` (English as it always was, and Korean); text that came from events
(reasons, summaries, details, rationales, evidence) goes through `shared.phrases.translate` in Korean,
the same phrase table the incident report uses, so names, values and log lines stay as they are.
"""

from __future__ import annotations

from typing import Final, TypeAlias

from shared import events as ev
from shared import models as m
from shared.phrases import translate

Progress: TypeAlias = ev.RecoveryStepStarted | ev.RecoveryStepCompleted | ev.RecoveryVerified | ev.RecoveryFailed

_SENTENCES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "notification": "{kind} notice to {team} via {channel} {verb} (attempt {attempt}){detail}",
        "plan": "Recovery planned: {steps} — {rationale}",
        "no_steps": "no steps",
        "rca_none": "Root-cause analysis found no candidate",
        "rca": "Root cause: {entity} ({signal}, score {score}) — {evidence}",
        "command": "{actor} requested {verb}{text}",
        "silence": "Silence {verb} by {author} for {matchers}: {reason}",
        "fault": "Fault injected: {fault} on {target}{detail}",
        "other": "{type}",
        "anomaly": "Anomaly {verb} on {target}: {summary} [{kind}, {impact}{observed}]",
        "observed": ", observed {value}",
        "opened": "Incident opened ({severity}) — {title}{reason}",
        "acknowledged": "Acknowledged by {actor}{reason}",
        "escalated": "Escalated to {team}{step}{reason}",
        "next_tier": "next tier",
        "esc_step": " (step {step})",
        "breached": "Response target breached ({severity}){reason}",
        "note": "Note by {actor}{reason}",
        "resolved": "Resolved by {actor}{reason}",
        "updated": "Incident updated ({severity}, {count} anomalies){reason}",
        "step": "step {index} {action} on {target}",
        "recovery": "recovery",
        "rec_started": "Recovery {step} started{detail}",
        "rec_ok": "Recovery {step} succeeded{detail}",
        "rec_failed_step": "Recovery {step} failed{detail}",
        "rec_verified": "Recovery verified: {target} healthy{detail}",
        "rec_failed": "Recovery failed on {target}{detail}",
        "approval": "Recovery {step} awaits approval ({severity}; no decision within {timeout}s: {default})",
        "approved": "Recovery {step} approved by {actor}{reason}",
        "denied": "Recovery {step} denied by {actor}{reason}",
    },
    "ko": {
        "notification": "{team}에 {channel}(으)로 보낸 {kind} 알림 {verb} (시도 {attempt}회){detail}",
        "plan": "복구 계획: {steps} — {rationale}",
        "no_steps": "단계 없음",
        "rca_none": "근본 원인 분석: 후보 없음",
        "rca": "근본 원인: {entity} ({signal}, 점수 {score}) — {evidence}",
        "command": "{actor}의 {verb} 요청{text}",
        "silence": "{author}이(가) 알림 억제 {verb}: {matchers}: {reason}",
        "fault": "장애 주입: {target}에 {fault}{detail}",
        "other": "이벤트 {type}",
        "anomaly": "이상 {verb} ({target}): {summary} [{kind}, {impact}{observed}]",
        "observed": ", 관측값 {value}",
        "opened": "장애 발생 ({severity}) — {title}{reason}",
        "acknowledged": "확인: {actor}{reason}",
        "escalated": "에스컬레이션: {team}{step}{reason}",
        "next_tier": "다음 단계 담당",
        "esc_step": " ({step}단계)",
        "breached": "대응 목표 미준수 ({severity}){reason}",
        "note": "메모: {actor}{reason}",
        "resolved": "해결: {actor}{reason}",
        "updated": "장애 갱신 ({severity}, 이상 {count}건){reason}",
        "step": "{target}의 {index}단계 {action}",
        "recovery": "복구",
        "rec_started": "복구 {step} 시작{detail}",
        "rec_ok": "복구 {step} 성공{detail}",
        "rec_failed_step": "복구 {step} 실패{detail}",
        "rec_verified": "복구 검증: {target} 정상{detail}",
        "rec_failed": "복구 실패: {target}{detail}",
        "approval": "복구 {step} 승인 대기 ({severity}; {timeout}초 안에 결정이 없으면 {default})",
        "approved": "복구 {step} 승인: {actor}{reason}",
        "denied": "복구 {step} 거부: {actor}{reason}",
    },
}
_KO_WORDS: Final[dict[str, str]] = {
    # severities, anomaly verbs, notification outcomes, command verbs, silence verbs
    "critical": "심각", "major": "주요", "minor": "경미",
    "detected": "탐지", "updated": "갱신", "resolved": "해소",
    "dispatched": "발송", "delivered": "전달", "failed": "실패",
    "acknowledge": "확인", "resolve": "해결", "note": "메모", "rca": "근본 원인 분석",
    "declare": "선언", "escalate": "상향", "reassign": "재배정", "severity": "심각도 변경", "merge": "병합",
    "split": "분리", "approve": "복구 승인", "deny": "복구 거부",
    "created": "생성", "expired": "만료",
}  # fmt: skip


def short_type(event: ev.Event) -> str:
    """Return the event type without the contract prefix (``incident.opened``)."""
    return event.type.removeprefix(ev.TYPE_PREFIX)


class _Words:
    """Sentences, fixed words and event text in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = "ko" if lang == "ko" else "en"

    def say(self, key: str, **params: object) -> str:
        return _SENTENCES[self.lang][key].format(**params)

    def word(self, value: object) -> str:
        """A fixed word (severity, verb) in the language; English as it is."""
        return _KO_WORDS.get(str(value), str(value)) if self.lang == "ko" else str(value)

    def text(self, value: str) -> str:
        """Text from an event: in Korean its fixed phrases translated (names and log lines kept)."""
        return translate(value, "ko") if self.lang == "ko" else value

    def suffix(self, value: str | None, sep: str = ": ") -> str:
        return f"{sep}{self.text(value)}" if value else ""


def describe(event: ev.Event, lang: str = "en") -> str:
    """Return a one-line description of ``event`` in ``lang`` (``en`` or ``ko``)."""
    w = _Words(lang)
    if isinstance(event, ev.IncidentEvent):
        return _transition(event, w)
    if isinstance(event, Progress):
        return _recovery(event, w)
    data = event.data
    if isinstance(data, m.Anomaly):
        return _anomaly(short_type(event).removeprefix("anomaly."), data, w)
    if isinstance(data, m.NotificationRecord):
        verb = w.word(short_type(event).removeprefix("notification."))
        return w.say(
            "notification", kind=data.kind, team=data.team, channel=data.channel, verb=verb, attempt=data.attempt,
            detail=w.suffix(data.detail),
        )  # fmt: skip
    if isinstance(data, m.RecoveryApproval):
        step = w.say("step", index=data.step.index, action=data.step.action, target=data.step.target)
        if isinstance(event, ev.RecoveryApprovalRequested):
            default = w.word(data.default.value)
            return w.say("approval", step=step, severity=w.word(data.severity), timeout=f"{data.timeout_s:g}",
                         default=default)  # fmt: skip
        verdict = "approved" if isinstance(event, ev.RecoveryApproved) else "denied"
        return w.say(verdict, step=step, actor=data.actor, reason=w.suffix(data.reason))
    if isinstance(data, m.RecoveryPlan):
        steps = ", ".join(s.action for s in data.steps) or w.say("no_steps")
        return w.say("plan", steps=steps, rationale=w.text(data.rationale))
    if isinstance(data, m.RootCauseAnalysis):
        if not data.ranking:
            return w.say("rca_none")
        top = data.ranking[0]
        return w.say(
            "rca", entity=top.entity, signal=top.signal, score=f"{top.score:.2f}", evidence=w.text(top.evidence)
        )
    if isinstance(data, m.OperatorCommand):
        verb = w.word(short_type(event).removeprefix("command."))
        return w.say("command", actor=data.actor, verb=verb, text=w.suffix(data.text))
    if isinstance(data, m.Silence):
        verb = w.word("expired" if isinstance(event, ev.SilenceExpired) else "created")
        matchers = ", ".join(f"{k}={v}" for k, v in sorted(data.matchers.items()))
        return w.say("silence", verb=verb, author=data.author, matchers=matchers, reason=w.text(data.reason))
    if isinstance(data, m.FaultInjected):
        detail = f" ({w.text(data.detail)})" if data.detail else ""
        return w.say("fault", fault=data.fault, target=data.target, detail=detail)
    return w.say("other", type=short_type(event))


def _anomaly(verb: str, a: m.Anomaly, w: _Words) -> str:
    observed = w.say("observed", value=f"{a.observed:g}{a.unit}") if a.observed is not None else ""
    return w.say(
        "anomaly", verb=w.word(verb), target=a.target, summary=w.text(a.summary), kind=a.kind, impact=a.impact,
        observed=observed,
    )  # fmt: skip


def _transition(event: ev.IncidentEvent, w: _Words) -> str:
    t = event.data
    inc = t.incident
    reason = w.suffix(t.reason)
    severity = w.word(inc.severity)
    match event:
        case ev.IncidentOpened():
            return w.say("opened", severity=severity, title=w.text(inc.title), reason=reason)
        case ev.IncidentAcknowledged():
            return w.say("acknowledged", actor=t.actor, reason=reason)
        case ev.IncidentEscalated():
            step = w.say("esc_step", step=t.escalation_step) if t.escalation_step is not None else ""
            return w.say("escalated", team=t.team or w.say("next_tier"), step=step, reason=reason)
        case ev.ResponseTargetBreached():
            return w.say("breached", severity=severity, reason=reason)
        case ev.IncidentNoteAdded():
            return w.say("note", actor=t.actor, reason=reason)
        case ev.IncidentResolved():
            return w.say("resolved", actor=t.actor, reason=reason)
        case ev.IncidentUpdated():
            return w.say("updated", severity=severity, count=len(inc.anomaly_ids), reason=reason)


def _recovery(event: Progress, w: _Words) -> str:
    p = event.data
    detail = w.suffix(p.detail)
    step = (
        w.say("step", index=p.step.index, action=p.step.action, target=p.step.target) if p.step else w.say("recovery")
    )
    match event:
        case ev.RecoveryStepStarted():
            return w.say("rec_started", step=step, detail=detail)
        case ev.RecoveryStepCompleted():
            return w.say("rec_ok" if p.ok else "rec_failed_step", step=step, detail=detail)
        case ev.RecoveryVerified():
            return w.say("rec_verified", target=p.target, detail=detail)
        case ev.RecoveryFailed():
            return w.say("rec_failed", target=p.target, detail=detail)
