"""The demo stack's pager: receives the responder's signed webhooks, checks each signature, keeps the pages.

Run: ``python -m incidentctl.pager_inbox --port P --out pages.jsonl`` with the HMAC key in
``PAGER_WEBHOOK_SECRET``. ``POST /pages`` answers 401 to a missing or wrong ``X-Signature-256``
and 200 otherwise, appending ``{"received_at", "verified", "page"}`` to the output file (one JSON
object per line); a redelivered page (same ``X-Idempotency-Key``) is acknowledged but not kept
twice. ``GET /pages`` lists what arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from incidentctl.json_http import reply_json
from shared.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

MAX_BODY: Final = 1 << 20


class Inbox(ThreadingHTTPServer):
    """HTTP server holding the key, the output file and the keys of pages already kept."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], secret: bytes, out: Path) -> None:
        super().__init__(address, InboxHandler)
        self.secret, self.out = secret, out
        self.lock = threading.Lock()
        self.kept: set[str] = set()
        if out.exists():
            for line in out.read_text().splitlines():
                self.kept.add(json.loads(line)["page"].get("notification_id", ""))

    def keep(self, key: str, page: dict[str, Any]) -> bool:
        """Append ``page`` unless a page with ``key`` was kept before; return True if appended."""
        with self.lock:
            if key in self.kept:
                return False
            self.kept.add(key)
            with self.out.open("a") as f:
                f.write(json.dumps({"received_at": time.time(), "verified": True, "page": page}) + "\n")
            return True


class InboxHandler(BaseHTTPRequestHandler):
    """``POST /pages`` and ``GET /pages``."""

    server: Inbox
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep stderr quiet; the output file is the record."""

    def _reply(self, status: int, body: Any) -> None:
        reply_json(self, status, body)

    def do_GET(self) -> None:
        """List the pages kept."""
        if self.path != "/pages":
            self._reply(404, {"error": "not found"})
            return
        lines = self.server.out.read_text().splitlines() if self.server.out.exists() else []
        self._reply(200, [json.loads(line) for line in lines])

    def do_POST(self) -> None:
        """Check the signature of one page and keep it."""
        length = int(self.headers.get("content-length") or 0)
        if self.path != "/pages" or not 0 < length <= MAX_BODY:
            self._reply(404 if self.path != "/pages" else 400, {"error": "POST a page to /pages"})
            return
        body = self.rfile.read(length)
        header = self.headers.get(SIGNATURE_HEADER)
        if header is None or not verify(self.server.secret, body, header):
            self._reply(401, {"error": "bad signature"})
            return
        try:
            page = json.loads(body)
        except ValueError:
            self._reply(400, {"error": "body is not JSON"})
            return
        key = self.headers.get(IDEMPOTENCY_HEADER) or str(page.get("notification_id", ""))
        self._reply(200, {"kept": self.server.keep(key, page)})


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m incidentctl.pager_inbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    secret = os.environ.get("PAGER_WEBHOOK_SECRET", "")
    if not secret:
        parser.error("PAGER_WEBHOOK_SECRET is not set")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Inbox((args.host, args.port), secret.encode(), args.out).serve_forever()


if __name__ == "__main__":
    main()
