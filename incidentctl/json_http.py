"""A JSON answer from a stdlib ``BaseHTTPRequestHandler`` (the demo service and the pager inbox)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


def reply_json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    """Send ``body`` as a complete JSON response (length set, so keep-alive connections work)."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    handler.wfile.flush()
