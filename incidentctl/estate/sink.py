"""A stand-in "external host": an HTTP server that reads and discards whatever is sent to it, and counts it.

Run: ``python -m incidentctl.estate.sink --port P``. ``POST``/``PUT`` anything: the body is read and
dropped (204). ``GET /stats``: ``{"bytes": N, "requests": M}`` received so far. The estate starts it
behind HAProxy's egress frontend, so the demo's outbound traffic is real bytes over a real socket.
"""

from __future__ import annotations

import argparse
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from incidentctl.json_http import reply_json

CHUNK: Final = 1 << 16
MAX_BODY: Final = 1 << 30


class SinkHandler(BaseHTTPRequestHandler):
    """Discard request bodies; report the totals."""

    server: SinkServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the counters are the record."""

    def do_GET(self) -> None:
        """``/stats``: bytes and requests received."""
        if self.path.split("?", 1)[0] != "/stats":
            reply_json(self, 404, {"error": "not found"})
            return
        with self.server.lock:
            reply_json(self, 200, {"bytes": self.server.received, "requests": self.server.requests})

    def do_POST(self) -> None:
        """Read the body in chunks, count it, answer 204."""
        try:
            length = int(self.headers.get("content-length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            reply_json(self, 400, {"error": "content-length required (at most 1 GiB)"})
            return
        left = length
        while left > 0:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            with self.server.lock:
                self.server.received += len(data)
        with self.server.lock:
            self.server.requests += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    do_PUT = do_POST


class SinkServer(ThreadingHTTPServer):
    """The server and its totals."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, SinkHandler)
        self.lock = threading.Lock()
        self.received = 0
        self.requests = 0


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m incidentctl.estate.sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = SinkServer((args.host, args.port))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
