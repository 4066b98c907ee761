"""The demo stack's pager keeps only pages whose HMAC-SHA256 signature verifies, each once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from incidentctl.pager_inbox import Inbox

SECRET = b"s3cret"


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    out = tmp_path / "pages.jsonl"
    server = Inbox(("127.0.0.1", 0), SECRET, out)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pages", out
    server.shutdown()
    server.server_close()


def post(url: str, page: dict[str, str], *, key: bytes = SECRET, signed: bool = True) -> httpx.Response:
    body = json.dumps(page).encode()
    headers = {"X-Idempotency-Key": page["notification_id"]}
    if signed:
        headers["X-Signature-256"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return httpx.post(url, content=body, headers=headers)


def test_signed_pages_are_kept_once_and_forged_ones_refused(inbox: tuple[str, Path]) -> None:
    url, out = inbox
    page = {"notification_id": "ntf-1", "title": "demo down"}
    assert post(url, page).json() == {"kept": True}
    assert post(url, page).json() == {"kept": False}  # a redelivery is acknowledged, not kept twice
    assert post(url, page, key=b"wrong").status_code == 401
    assert post(url, {"notification_id": "ntf-2"}, signed=False).status_code == 401
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert [k["page"]["notification_id"] for k in kept] == ["ntf-1"]
    assert httpx.get(url).json()[0]["verified"] is True
