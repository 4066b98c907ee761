"""Through the whole responder process and a real broker: Slack page, signed button press, message edited.

Settings and secrets come as in production: the route from the settings, the bot token from
``RESPONDER_SECRETS__SLACK_BOT`` and the signing secret from ``RESPONDER_API_SLACK_SIGNING_SECRET``
(environment only). Slack's Web API is the local HTTP stand-in of the component test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.responder.app import build
from services.responder.settings import ResponderSettings
from tests.component.responder.test_slack_chat import BOT_TOKEN, SIGNING, SlackStandIn, press
from tests.component.responder.test_slack_chat import slack_api as slack_api
from tests.integration.test_api_responder import AUTH, TOKEN, until
from tests.unit.services.responder.api.test_alertmanager import payload

pytestmark = pytest.mark.integration


@pytest.fixture
def chat_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RESPONDER_API_TOKEN", TOKEN)
    monkeypatch.setenv("RESPONDER_API_SLACK_SIGNING_SECRET", SIGNING)
    monkeypatch.setenv("RESPONDER_SECRETS__SLACK_BOT", BOT_TOKEN)
    yield


async def test_slack_button_acknowledges_and_the_message_is_edited(
    kafka_bootstrap: str, unique: str, slack_api: SlackStandIn, chat_env: None
) -> None:
    slack_route = {
        "type": "slack",
        "name": "slack",
        "channel": "C0INCIDENTS",
        "secret": "slack_bot",
        "url": slack_api.url,
    }
    settings = ResponderSettings(
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        TOPIC_PREFIX=f"t{unique}.",
        group_id=f"responder-{unique}",
        grouping={"group_wait_s": 0},
        tick_s=0.2,
        routes={"L1": [slack_route], "L2": [{"type": "log"}], "L3": [{"type": "log"}]},
    )
    assert "slack_bot" in settings.secrets and settings.api.slack_signing_secret is not None
    app = build(settings).asgi_app()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://x", headers=AUTH) as client,
    ):
        await until(lambda: _ok(client, "/readyz"), "readiness")
        assert (await client.post("/api/alertmanager", json=payload())).status_code in (200, 202)

        async def posted() -> dict[str, Any] | None:
            return next((b for m, b in slack_api.calls if m == "chat.postMessage"), None)

        message = await until(posted, "the page in Slack")
        ts = "1712345678.000001"
        incident_id = message["blocks"][-1]["elements"][0]["value"]
        body, headers = press("incident_ack", message, ts, now=time.time())
        chat = httpx.AsyncClient(transport=transport, base_url="http://x")  # Slack sends no bearer token
        async with chat:
            answer = await chat.post("/api/chat/slack/interactions", content=body, headers=headers)
        assert answer.status_code == 200

        async def updated() -> dict[str, Any] | None:
            return next((b for m, b in slack_api.calls if m == "chat.update"), None)

        update = await until(updated, "chat.update of the page")
        assert (update["channel"], update["ts"]) == ("C0INCIDENTS", ts)
        assert update["text"].startswith("[ACKNOWLEDGED]")

        async def acknowledged() -> dict[str, Any] | None:
            summary: dict[str, Any] = (await client.get(f"/api/incidents/{incident_id}")).json()["summary"]
            return summary if summary["status"] == "acknowledged" else None

        assert (await until(acknowledged, "the acknowledgement"))["acknowledged_by"] == "slack:dana.kim"
    assert slack_api.methods().count("chat.postMessage") == 1


async def _ok(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200
