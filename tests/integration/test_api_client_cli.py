"""incidentctl's API client against a served API on a real broker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from incidentctl import api_client
from shared import events as ev
from shared.replay import replay
from shared.topic_admin import ensure_topics
from tests.integration.test_api_console_chromium import READ_TOKEN, served_api
from tests.integration.test_api_responder import TOKEN, broker_settings, incident_story, publish_all, until

pytestmark = pytest.mark.integration


async def test_client_reads_and_commands(kafka_bootstrap: str, unique: str) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    await publish_all(settings, incident_story("inc-5"))
    async with served_api(settings) as base:
        listed = await asyncio.to_thread(api_client.list_incidents, base, token=READ_TOKEN, status="triggered")
        assert [i["incident_id"] for i in listed] == ["inc-5"]
        table = api_client.format_incident_table(listed)
        assert "inc-5" in table and "demo is unhealthy" in table

        detail = await asyncio.to_thread(api_client.get_incident, base, "inc-5", token=READ_TOKEN)

        with pytest.raises(api_client.ApiError, match="401"):
            await asyncio.to_thread(api_client.get_incident, base, "inc-5")  # reads need a token
        text = api_client.format_timeline(detail)
        assert "incident.opened" in text and "root-cause candidates:" in text

        with pytest.raises(api_client.ApiError, match="401"):
            await asyncio.to_thread(api_client.ack, base, "inc-5", token="wrong")
        with pytest.raises(api_client.ApiError, match="404"):
            await asyncio.to_thread(api_client.ack, base, "nope", token=TOKEN)
        accepted = await asyncio.to_thread(api_client.ack, base, "inc-5", token=TOKEN, actor="erin")
        note = await asyncio.to_thread(api_client.add_note, base, "inc-5", "looking", token=TOKEN)
        silence = await asyncio.to_thread(
            api_client.create_silence, base, token=TOKEN, matchers={"service": "demo"}, duration_s=300, reason="deploy"
        )

        async def commands_on_topics() -> set[str] | None:
            names = [settings.topic_prefix + t for t in ("responder.commands.v1", "responder.silences.v1")]
            ids = {e.id async for _, e in replay(settings, names)}
            wanted = {accepted["event_id"], note["event_id"], silence["event_id"]}
            return ids if wanted <= ids else None

        await until(commands_on_topics, "the client's commands on the topics")

        async def silence_listed() -> list[dict[str, Any]] | None:
            return await asyncio.to_thread(api_client.list_silences, base, active=True, token=TOKEN) or None

        (listed_silence,) = await until(silence_listed, "the silence")
        assert listed_silence["silence"]["silence_id"] == silence["command_id"]
        expired = await asyncio.to_thread(api_client.expire_silence, base, silence["command_id"], token=TOKEN)
        assert expired["event_type"] == ev.SilenceExpired.event_type
