"""A notification's console link opens the incident in the console (issue 15: ``/incidents/ID`` was a 404)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.responder.api import ApiSettings, build_api
from services.responder.api.console_routes import STATIC_DIR
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from services.responder.notify.messages import incident_link
from shared import events as ev
from tests.unit.services.responder.api.builders import at


async def _nothing(_event: ev.Envelope[Any], _key: str) -> bool:
    return True


def _console_route() -> re.Pattern[str]:
    """The console script's own route pattern (``route()`` in console.js), so the test follows the script."""
    script = (STATIC_DIR / "console.js").read_text(encoding="utf-8")
    found = re.search(r"location\.hash\.match\(/(\^#\\/incidents\\/\(\.\+\)\$)/\)", script)
    assert found, "console.js no longer routes on #/incidents/<id>"
    return re.compile(found.group(1).replace("\\/", "/"))


@pytest.mark.parametrize("base", ["http://console.example:8080", "http://console.example:8080/"])
async def test_notification_link_is_the_console_hash_route_served_by_the_api(base: str) -> None:
    link = incident_link(base, "inc-42 x/y")
    assert link == "http://console.example:8080/#/incidents/inc-42%20x%2Fy"
    parts = urlsplit(link)
    match = _console_route().match("#" + parts.fragment)
    assert match and unquote(match.group(1)) == "inc-42 x/y"
    deps = ApiDeps(
        settings=ApiSettings(token=SecretStr("t")), projection=Projection(), publish=_nothing,
        registry=CollectorRegistry(), clock=lambda: at(0),
    )  # fmt: skip
    transport = httpx.ASGITransport(app=build_api(deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://console.example:8080") as client:
        page = await client.get(parts.path or "/")
        assert page.status_code == 200 and "console.js" in page.text
        assert (await client.get("/incidents/inc-42")).status_code == 404  # the old link's target
