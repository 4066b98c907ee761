"""Attacks on the API from issue 11: open reads, huge bodies, token guessing, forged report paths, naive times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.responder.api import ApiSettings, build_api
from services.responder.api.deps import ApiDeps
from services.responder.api.projection import Projection
from shared import events as ev
from tests.unit.services.responder.api.builders import anomaly, at, incident, rca, transition

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _nothing(_event: ev.Envelope[Any], _key: str) -> bool:
    return True


def api(projection: Projection, **settings: Any) -> httpx.AsyncClient:
    settings.setdefault("token", SecretStr(TOKEN))
    deps = ApiDeps(
        settings=ApiSettings(**settings),
        projection=projection,
        publish=_nothing,
        registry=CollectorRegistry(),
        clock=lambda: at(100),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_api(deps)), base_url="http://api")


@pytest.fixture
def projection() -> Projection:
    p = Projection()
    for e in [anomaly(t=1), transition(ev.IncidentOpened, incident(), t=2, reason="cpu")]:
        p.apply(e)
    return p


@pytest.fixture
async def client(projection: Projection) -> AsyncIterator[httpx.AsyncClient]:
    async with api(projection) as c:
        yield c


async def test_reads_without_a_token_are_refused_by_default(client: httpx.AsyncClient) -> None:
    for path in ["/api/incidents", "/api/incidents/inc-1", "/api/silences"]:
        assert (await client.get(path)).status_code == 401, path


async def test_a_body_over_the_limit_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    huge = b'{"text": "' + b"x" * (2 << 20) + b'"}'
    for headers in ({}, AUTH):  # without a token too: the size is judged first
        response = await client.post("/api/incidents/inc-1/notes", content=huge, headers=headers)
        assert response.status_code == 413, headers


async def test_a_chunked_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post("/api/incidents/inc-1/notes", content=chunks(), headers=AUTH)
    assert response.status_code == 413


async def test_the_body_limit_is_configurable(projection: Projection) -> None:
    async with api(projection, max_body_bytes=2048) as c:
        body = {"text": "y" * 3000}
        assert (await c.post("/api/incidents/inc-1/notes", json=body, headers=AUTH)).status_code == 413
        assert (await c.post("/api/incidents/inc-1/notes", json={"text": "ok"}, headers=AUTH)).status_code == 202


async def test_failed_authentication_is_rate_limited_per_client(projection: Projection) -> None:
    async with api(projection, auth_max_failures=5, auth_block_s=30) as c:
        codes = [(await c.post("/api/incidents/inc-1/ack", headers={"Authorization": f"Bearer guess{i}"})).status_code
                 for i in range(8)]  # fmt: skip
        assert codes == [401] * 5 + [429] * 3
        blocked = await c.post("/api/incidents/inc-1/ack", headers=AUTH)  # even the right token, while blocked
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) == 30


async def test_openapi_lists_the_error_answers(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    for path, method in [("/api/incidents", "get"), ("/api/incidents/{incident_id}/ack", "post"),
                         ("/api/silences", "post"), ("/api/alertmanager", "post")]:  # fmt: skip
        answers = doc["paths"][path][method]["responses"]
        assert {"401", "404", "413", "429"} <= set(answers), (path, sorted(answers))


async def test_a_forged_report_path_outside_the_reports_folder_is_not_served(
    projection: Projection, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("private notes")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "link.md").symlink_to(secret)
    for forged in [str(secret), "../secret.md", str(reports / ".." / "secret.md"), str(reports / "link.md")]:
        p = Projection()
        for e in [transition(ev.IncidentOpened, incident(), t=2), rca("inc-1", t=5, report_path=forged)]:
            p.apply(e)
        for settings in ({}, {"reports_dir": str(reports)}):
            async with api(p, **settings) as c:
                response = await c.get("/api/incidents/inc-1/report", headers=AUTH)
            assert response.status_code == 404 and "private" not in response.text, (forged, settings)


async def test_a_report_inside_the_reports_folder_is_served(tmp_path: Path) -> None:
    (tmp_path / "inc-1.md").write_text("# report")
    p = Projection()
    for e in [transition(ev.IncidentOpened, incident(), t=2), rca("inc-1", t=5, report_path="inc-1.md")]:
        p.apply(e)
    async with api(p, reports_dir=str(tmp_path)) as c:
        response = await c.get("/api/incidents/inc-1/report", headers=AUTH)
    assert (response.status_code, response.text) == (200, "# report")


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
async def test_a_silence_with_a_zone_less_time_is_422_and_lists_keep_working(
    client: httpx.AsyncClient, field: str
) -> None:
    body = {"matchers": {"service": "demo"}, "duration_s": 600, field: "2030-01-01T00:00:00"}
    if field == "ends_at":
        body.pop("duration_s")
    response = await client.post("/api/silences", headers=AUTH, json=body)
    assert response.status_code == 422 and field in response.json()["message"]
    assert (await client.get("/api/silences", headers=AUTH)).status_code == 200


async def test_a_silence_time_with_an_offset_is_normalised_to_utc(client: httpx.AsyncClient) -> None:
    body = {"matchers": {"service": "demo"}, "starts_at": "2030-01-01T09:00:00+09:00", "duration_s": 60}
    assert (await client.post("/api/silences", headers=AUTH, json=body)).status_code == 202


@pytest.mark.parametrize(
    "labels",
    [{"alertname": "Down", "service": "demo\nConsole: http://evil"}, {"alertname": "Down", "x": "v" * 20_000}],
)
async def test_alerts_the_event_contract_refuses_are_422_not_500(
    client: httpx.AsyncClient, labels: dict[str, str]
) -> None:
    body = {"version": "4", "groupKey": "g", "status": "firing", "receiver": "r",
            "alerts": [{"status": "firing", "labels": labels, "startsAt": "2026-01-01T00:00:00Z"}]}  # fmt: skip
    response = await client.post("/api/alertmanager", headers=AUTH, json=body)
    assert response.status_code == 422 and response.json()["message"].startswith("invalid request")


async def test_a_silence_the_event_contract_refuses_is_422(client: httpx.AsyncClient) -> None:
    body = {"matchers": {"service": "x" * 20_000}, "duration_s": 60}
    assert (await client.post("/api/silences", headers=AUTH, json=body)).status_code == 422
