"""Schemathesis against the responder API's served OpenAPI document: no server error, answers match the schema.

Bounded: a fixed, derandomized number of examples per operation. Requests carry the read-only token
(so mutations are refused with a documented 401) or the API token, and some none at all.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from shared.topic_admin import ensure_topics
from tests.integration.test_api_console_chromium import READ_TOKEN, served_api
from tests.integration.test_api_responder import TOKEN, broker_settings, incident_story, publish_all

pytestmark = pytest.mark.integration

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES = 20
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TOKENS = st.sampled_from([AUTH, AUTH, AUTH, AUTH, {"Authorization": f"Bearer {READ_TOKEN}"},
                          {"Authorization": "Bearer wrong"}, {}])  # fmt: skip


def exercise(base: str) -> list[str]:
    """Run every operation of the served schema; return the failures (empty when all held)."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    seen_codes: set[int] = set()
    for result in schema.get_all_operations():
        _run_operation(result.ok(), base, failures, seen_codes)
    assert {200, 202, 401, 404, 422} <= seen_codes, seen_codes
    return failures


def _run_operation(operation: Any, base: str, failures: list[str], seen_codes: set[int]) -> None:
    if True:

        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(), headers=TOKENS)
        def run(case: Any, headers: dict[str, str]) -> None:
            try:
                response = case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)
                seen_codes.add(response.status_code)
            except Exception as exc:  # a failed check: collect, keep fuzzing the other operations
                failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:400]}")

        run()


async def test_the_served_openapi_document_holds(kafka_bootstrap: str, unique: str) -> None:
    settings_ = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings_)
    await publish_all(settings_, incident_story("inc-9"))
    async with served_api(settings_, auth_max_failures=80) as base:  # 429 late, after the other answers
        failures = await asyncio.to_thread(exercise, base)
    assert failures == []
