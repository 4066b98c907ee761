"""The console's fixed strings and the API's timeline sentences in Korean when its language is ``ko`` (issue 15,
item 6), in headless Chromium."""

from __future__ import annotations

import pytest

from shared.topic_admin import ensure_topics
from tests.browser import requires_chromium
from tests.integration.test_api_console_chromium import READ_TOKEN, chromium, served_api
from tests.integration.test_api_responder import broker_settings, incident_story, publish_all

pytestmark = pytest.mark.integration

KOREAN = ("장애 목록", "상태", "심각도", "토큰", "실시간 · 갱신")
KOREAN_INCIDENT = ("타임라인", ">확인<", ">해결<", "메모 추가", "지금 원인 분석", "← 전체 장애", "심각도 근거")
KOREAN_TIMELINE = ("장애 발생 (주요) — ", "에스컬레이션: L1 (0단계): page L1")
ENGLISH_TIMELINE = ("Incident opened (major) — ", "Escalated to L1 (step 0): page L1")
ENGLISH = (">Incidents<", ">Acknowledge<", ">Timeline<", ">Add note<", ">Severity reason<", "live · updated")


@requires_chromium
async def test_console_fixed_strings_follow_the_language_setting(kafka_bootstrap: str, unique: str) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    await publish_all(settings, incident_story("inc-7"))
    async with served_api(settings, language="ko") as base:
        listing = await chromium("--dump-dom", f"{base}/#token={READ_TOKEN}")
        incident = await chromium("--dump-dom", f"{base}/#/incidents/inc-7?token={READ_TOKEN}")
    async with served_api(settings) as base:
        english = await chromium("--dump-dom", f"{base}/#/incidents/inc-7?token={READ_TOKEN}")
    assert '<html lang="ko">' in listing and 'data-incident-id="inc-7"' in listing
    for text in KOREAN:
        assert text in listing, text
    for text in KOREAN_INCIDENT:
        assert text in incident, text
    for text in ENGLISH:
        assert text not in incident, text
    for text in (">Acknowledge<", ">Timeline<", ">Severity reason<"):
        assert text in english, text
    for ko, en in zip(KOREAN_TIMELINE, ENGLISH_TIMELINE, strict=True):
        assert ko in incident and en not in incident, (ko, en)
        assert en in english and ko not in english, (ko, en)
