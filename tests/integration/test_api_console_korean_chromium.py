"""The console's fixed strings in Korean when the API's language is ``ko`` (issue 15, item 6), in headless Chromium."""

from __future__ import annotations

import pytest

from shared.topic_admin import ensure_topics
from tests.browser import requires_chromium
from tests.integration.test_api_console_chromium import READ_TOKEN, chromium, served_api
from tests.integration.test_api_responder import broker_settings, incident_story, publish_all

pytestmark = pytest.mark.integration

KOREAN = ("장애 목록", "상태", "심각도", "토큰", "실시간 · 갱신")
KOREAN_INCIDENT = ("타임라인", ">확인<", ">해결<", "메모 추가", "지금 원인 분석", "← 전체 장애", "심각도 근거")
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
