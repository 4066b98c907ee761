"""A client that resets its connection costs the demo one log line, not a traceback on its stdout."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time

import pytest

from incidentctl.demo_service import Chaos, DemoServer


def test_a_client_reset_mid_request_is_one_line_in_the_log(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    server = DemoServer(("127.0.0.1", 0), Chaos())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with caplog.at_level(logging.INFO, logger="demo"):
            client = socket.create_connection(server.server_address[:2])
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
            client.sendall(b"GET / HT")  # half a request line: the server is reading when the reset comes
            time.sleep(0.2)
            client.close()
            deadline = time.monotonic() + 5.0
            while "hung up" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert "hung up" in caplog.text and "Connection reset" in caplog.text
    assert "Traceback" not in capsys.readouterr().err
