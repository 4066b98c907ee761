"""The web console in headless Chromium (Debian's ``chromium``): an incident's timeline renders."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from incidentctl.procs import free_port
from services.responder.api import ApiSettings, create_api
from shared.runtime import Service
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from tests.browser import CHROMEDRIVER, CHROMIUM, FLAGS, requires_chromedriver, requires_chromium
from tests.integration.test_api_responder import TOKEN, broker_settings, incident_story, publish_all, until

pytestmark = pytest.mark.integration

READ_TOKEN = "read-only-console-token"
CHROMIUM_FLAGS = (*FLAGS, "--virtual-time-budget=8000", "--window-size=1280,1000")
SCREENSHOT_DIR_ENV = "CONSOLE_SCREENSHOT_DIR"


@asynccontextmanager
async def served_api(settings: ServiceSettings, **api: Any) -> AsyncIterator[str]:
    """Serve the API with uvicorn on a free loopback port; yield its base URL once ready."""
    service = Service.create("responder", settings)
    api_settings = ApiSettings(
        token=SecretStr(TOKEN), read_token=SecretStr(READ_TOKEN), console_title="Ops console", **api
    )
    app = create_api(service, api_settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(ready, "the API to be ready")
        yield base
    finally:
        server.should_exit = True
        await task


async def chromium(*args: str) -> str:
    """Run headless Chromium with a throw-away profile; return its stdout."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="console-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode(errors="replace")


@requires_chromium
async def test_console_shows_an_incident_timeline(kafka_bootstrap: str, unique: str, tmp_path: Path) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    story = incident_story("inc-42")
    await publish_all(settings, story)

    async with served_api(settings) as base:
        dom = await chromium("--dump-dom", f"{base}/#/incidents/inc-42?token={READ_TOKEN}")
        listing = await chromium("--dump-dom", f"{base}/#token={READ_TOKEN}")
        refused = await chromium("--dump-dom", f"{base}/#/incidents/inc-42")
        shot_dir = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path)
        shot = shot_dir / "console-incident.png"
        await chromium(f"--screenshot={shot}", f"{base}/#/incidents/inc-42?token={READ_TOKEN}")
        await chromium(f"--screenshot={shot_dir / 'console-list.png'}", f"{base}/#token={READ_TOKEN}")

    for event in story:
        assert f'data-event-id="{event.id}"' in dom, event.type
    assert dom.count('data-correlation-id="inc-42"') >= 4
    assert "Incident opened (major)" in dom and "Fault injected: cpu-hog on demo" in dom
    assert 'id="report-link" class="secondary button" hidden' in dom  # the RCA wrote no report
    assert "Root cause: demo" in dom and 'id="incident-title">demo is unhealthy<' in dom
    assert 'data-incident-id="inc-42"' in listing and "demo is unhealthy" in listing
    assert shot.stat().st_size > 10_000
    assert "needs the token for reads" in refused and 'data-event-id="' not in refused
    assert READ_TOKEN not in dom  # the token left the address bar once stored


ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"  # W3C WebDriver's element reference key


class WebDriver:
    """The few W3C WebDriver commands the console test needs, spoken over plain HTTP."""

    def __init__(self, client: httpx.AsyncClient, session: str) -> None:
        self.client, self.session = client, session

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.client.request(method, f"/session/{self.session}{path}", json=body)
        assert response.status_code == 200, response.text[:2000]
        return response.json()["value"]

    async def script(self, source: str, *args: Any) -> Any:
        return await self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    async def click(self, css: str) -> None:
        element = await self.call("POST", "/element", {"using": "css selector", "value": css})
        await self.call("POST", f"/element/{element[ELEMENT_KEY]}/click", {})


@asynccontextmanager
async def webdriver() -> AsyncIterator[WebDriver]:
    """Start chromedriver on a free port with headless Chromium; yield a session."""
    assert CHROMEDRIVER is not None and CHROMIUM is not None
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        CHROMEDRIVER, f"--port={port}", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        with tempfile.TemporaryDirectory(prefix="console-webdriver-") as profile:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

                async def up() -> bool:
                    try:
                        return (await client.get("/status")).json()["value"]["ready"] is True
                    except httpx.TransportError:
                        return False

                await until(up, "chromedriver")
                flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--virtual-time")]
                options = {"binary": CHROMIUM, "args": [*flags, f"--user-data-dir={profile}"]}
                capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
                created = await client.post("/session", json={"capabilities": capabilities})
                assert created.status_code == 200, created.text[:2000]
                driver = WebDriver(client, created.json()["value"]["sessionId"])
                try:
                    yield driver
                finally:
                    await client.delete(f"/session/{driver.session}")
    finally:
        proc.terminate()
        await proc.wait()


@requires_chromedriver
async def test_console_buttons_send_commands_with_the_token(kafka_bootstrap: str, unique: str) -> None:
    settings = broker_settings(kafka_bootstrap, unique)
    await ensure_topics(settings)
    await publish_all(settings, incident_story("inc-77"))

    async with served_api(settings) as base, webdriver() as browser:
        await browser.call("POST", "/url", {"url": f"{base}/#/incidents/inc-77?token={READ_TOKEN}"})
        timeline = "return document.getElementById('timeline').textContent"
        flash = "return document.getElementById('flash').textContent"

        async def rendered() -> bool:
            return "Incident opened" in await browser.script(timeline)

        await until(rendered, "the timeline")

        await browser.script("window.prompt = () => 'not-the-token';")
        await browser.click('[data-command="ack"]')

        async def refused() -> str | None:
            text = await browser.script(flash)
            return text if "refused" in text else None

        assert "wrong bearer token" in await until(refused, "the refusal")
        assert await browser.script("return sessionStorage.length") == 0  # a refused (read-only) token is forgotten

        await browser.script(f"window.prompt = () => '{TOKEN}';")
        await browser.click('[data-command="ack"]')

        async def acked_in_timeline() -> bool:
            return "console requested acknowledge" in await browser.script(timeline)

        await until(acked_in_timeline, "the acknowledge command in the timeline")
        assert "Sent command.acknowledge" in await browser.script(flash)
