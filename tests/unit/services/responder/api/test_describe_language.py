"""The API's timeline sentences in Korean when its language is ``ko``; English exactly as before."""

from __future__ import annotations

import re

import pytest

from services.responder.api.describe import describe
from services.responder.api.projection import Projection
from shared import events as ev
from tests.fuzz_records import seed_document

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _event(cls: type[ev.Event]) -> ev.Event:
    return cls.model_validate_json(seed_document(cls))


@pytest.mark.parametrize("cls", ev.ALL_EVENTS, ids=lambda c: c.__name__)
def test_every_event_type_has_a_korean_sentence_on_one_line(cls: type[ev.Event]) -> None:
    korean = describe(_event(cls), "ko")
    assert HANGUL.search(korean), korean
    assert "\n" not in korean


@pytest.mark.parametrize(
    ("cls", "english"),
    [
        (ev.AnomalyDetected, "Anomaly detected on demo: cpu high [threshold, resource_pressure, observed 99]"),
        (ev.IncidentOpened, "Incident opened (major) — demo is down: opened"),
        (ev.IncidentEscalated, "Escalated to L1 (step 0): opened"),
        (ev.NotificationFailed, "page notice to L1 via log failed (attempt 1)"),
        (ev.RecoveryStepCompleted, "Recovery step 0 restart_process on demo succeeded"),
        (ev.RootCauseIdentified, "Root cause: demo (process.up, score 1.00) — exit"),
        (ev.SilenceExpired, "Silence expired by a for service=demo: r"),
        (ev.ResolveRequested, "a requested resolve: t"),
        (ev.FaultInjected, "Fault injected: crash on demo"),
        (ev.ServiceHeartbeat, "service.heartbeat"),
    ],
)
def test_english_stays_as_it_was(cls: type[ev.Event], english: str) -> None:
    event = _event(cls)
    assert describe(event) == english
    assert describe(event, "en") == english
    assert describe(event, "fr") == english


def test_korean_translates_fixed_phrases_in_event_text_and_keeps_names() -> None:
    event = _event(ev.IncidentAcknowledged)
    data = event.data.model_copy(update={"reason": "severity raised minor → major", "actor": "kim<b>"})
    korean = describe(event.model_copy(update={"data": data}), "ko")
    assert korean == "확인: kim<b>: 심각도 상향 minor → major"


def test_the_projection_words_its_timeline_in_its_language() -> None:
    event = _event(ev.RecoveryVerified)
    english, korean = Projection(), Projection(language="ko")
    english.apply(event)
    korean.apply(event)
    (en_entry,) = english.timeline("inc-1")
    (ko_entry,) = korean.timeline("inc-1")
    assert en_entry.summary == "Recovery verified: demo healthy"
    assert ko_entry.summary == "복구 검증: demo 정상"
