"""The watched demo service: a small HTTP app whose faults (crash, cpu-hog, error-burst, slow...) are real.

Run: ``python -m incidentctl.demo_service --port P --log-file F --pidfile PF``. Endpoints: ``GET /``
(a little work, 200), ``GET /healthz``, ``GET /chaos`` (active faults), ``POST /chaos/<fault>``
with optional ``?duration_s=`` (default: until reset or restart), ``POST /chaos/reset``, and
``GET /metrics``: RED metrics of its real traffic (``http_requests_total{method,path,status}``, the
``http_request_duration_seconds`` histogram) in the Prometheus text format, or OpenMetrics when asked.
``error-burst`` takes ``?ratio=`` (default 1): that share of ``GET /`` fails with 500, evenly spread
(``ratio=0.01``: exactly every hundredth request).

``POST /login`` (user and password, form or JSON) and the security faults ``auth-attack`` and
``exfiltrate`` are in ``incidentctl.demo_security``.

With the estate (``IR_DEMO_DSN``), each ``GET /`` stores an order in PostgreSQL through HAProxy; a
failed write is an ERROR line and a 500. With ``IR_DEMO_BACKUP_STATUS``, ``/metrics`` also carries
the backup's age and last result (``incidentctl.demo_estate``).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client import exposition as text_exposition
from prometheus_client.openmetrics import exposition as openmetrics_exposition

from incidentctl import demo_security as sec
from incidentctl.demo_estate import (
    BACKUP_STATUS_ENV,
    DSN_ENV,
    BackupStatusCollector,
    OrderNotStored,
    OrderRowsCollector,
    OrderStore,
)
from incidentctl.json_http import reply_json
from shared.errors import CliError

SECURITY_FAULTS: Final = ("auth-attack", "exfiltrate")
FAULTS: Final = ("cpu-hog", "crash", "error-burst", "slow", *SECURITY_FAULTS)
SLOW_DELAY_S: Final = 1.5
ERROR_LOG_PERIOD_S: Final = 0.5
LOG_FORMAT: Final = "%(asctime)s %(levelname)s demo [%(threadName)s] %(message)s"

log = logging.getLogger("demo")


class UpstreamUnavailable(CliError, RuntimeError):
    """The (simulated) payment backend answered 503."""


ROUTES: Final = frozenset({"/", "/healthz", "/chaos", "/login"})
_openmetrics_latest: Callable[[CollectorRegistry], bytes] = openmetrics_exposition.generate_latest


class RedMetrics:
    """Requests by method, route and status, and their latency: what the collector scrapes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests", "HTTP requests handled", ("method", "path", "status"), registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to answer a request", ("method", "path"), registry=self.registry
        )
        for status in ("200", "500"):  # present from the start: the first failure is an increase, not a new series
            self.requests.labels("GET", "/", status)
        self.latency.labels("GET", "/")
        self.requests.labels("POST", "/login", "401")
        self.security = sec.SecurityMetrics(self.registry)

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        """Count one answered request (``/metrics`` itself is not counted)."""
        route = path if path in ROUTES else ("/chaos/*" if path.startswith("/chaos/") else "other")
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition and its content type: OpenMetrics if ``accept`` names it, else the text format."""
        if "application/openmetrics-text" in accept:
            return _openmetrics_latest(self.registry), openmetrics_exposition.CONTENT_TYPE_LATEST
        return text_exposition.generate_latest(self.registry), text_exposition.CONTENT_TYPE_LATEST


class Chaos:
    """Active faults and when they end (None: until reset); background threads for cpu-hog and error-burst."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._until: dict[str, float | None] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._error_ratio = 1.0
        self._error_debt = 0.0
        self.loops: dict[str, Callable[[], None]] = {"cpu-hog": self._hog, "error-burst": self._error_burst}
        """The faults that run in a background thread while active (the security faults add theirs)."""
        self.unavailable: dict[str, str] = {}
        self.thread_names: dict[str, str] = {}
        """A fault's thread name when not the fault's own (it is in every line the thread logs)."""
        """Faults this process cannot inject, and why (exfiltrate without an egress)."""

    def inject(self, fault: str, duration_s: float | None, *, ratio: float = 1.0) -> None:
        """Start ``fault`` (crash is handled by the caller); ``ratio``: the share of requests error-burst fails."""
        with self._lock:
            self._until[fault] = None if duration_s is None else self.clock() + duration_s
            if fault == "error-burst":
                self._error_ratio, self._error_debt = ratio, 0.0
        running = self._threads.get(fault)
        if fault in self.loops and (running is None or not running.is_alive()):
            name = self.thread_names.get(fault, fault)
            self._threads[fault] = threading.Thread(target=self.loops[fault], name=name, daemon=True)
            self._threads[fault].start()

    def reset(self) -> None:
        """End every fault."""
        with self._lock:
            self._until.clear()

    def active(self, fault: str) -> bool:
        """Return True while ``fault`` is in effect."""
        with self._lock:
            if fault not in self._until:
                return False
            until = self._until[fault]
            if until is not None and self.clock() >= until:
                del self._until[fault]
                return False
            return True

    def fail_request(self) -> bool:
        """Whether this request fails: while error-burst is on, ``ratio`` of the requests, evenly spread."""
        if not self.active("error-burst"):
            return False
        with self._lock:
            self._error_debt += self._error_ratio
            if self._error_debt >= 1.0 - 1e-9:
                self._error_debt -= 1.0
                return True
            return False

    def active_faults(self) -> list[str]:
        """Names of the faults in effect."""
        return [f for f in FAULTS if self.active(f)]

    def _hog(self) -> None:
        log.info("cpu-hog started")
        x = 0
        while self.active("cpu-hog"):
            for _ in range(100_000):  # pure-Python busy loop: ~100% of one core
                x = (x * 31 + 7) % 1_000_003
        log.info("cpu-hog stopped")

    def _error_burst(self) -> None:
        while self.active("error-burst"):
            log_payment_failure("background-settlement")
            time.sleep(ERROR_LOG_PERIOD_S)


def _call_payment_backend(order: str) -> None:
    raise UpstreamUnavailable(f"upstream returned 503 for order {order}")


def log_payment_failure(path: str) -> None:
    """Log an ERROR with a traceback, the way an unhandled backend failure appears in real logs."""
    order = f"ord-{random.randrange(10**6):06d}"
    attempt = random.randint(1, 3)
    try:
        _call_payment_backend(order)
    except UpstreamUnavailable:
        log.exception(
            "Payment backend unavailable: upstream returned 503 (path=%s order=%s attempt=%d)", path, order, attempt
        )


def do_work() -> str:
    """A little CPU work per request."""
    digest = b"demo"
    for _ in range(200):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:12]


class DemoHandler(BaseHTTPRequestHandler):
    """Request handler; the server carries the ``chaos`` state."""

    server: DemoServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: 40 ms per kept-alive request otherwise

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's stderr access log (requests are logged to the log file instead)."""

    def _reply(self, status: int, body: Any) -> None:
        reply_json(self, status, body)
        path = urlsplit(self.path).path
        self.server.metrics.observe(self.command, path, status, time.perf_counter() - self._started)

    def parse_request(self) -> bool:
        """Time each request from when its request line was read (not the idle wait of a kept-alive connection)."""
        self._started = time.perf_counter()
        return super().parse_request()

    def do_GET(self) -> None:
        """Serve ``/``, ``/healthz``, ``/chaos`` and ``/metrics``."""
        path = urlsplit(self.path).path
        chaos = self.server.chaos
        if path == "/metrics":
            body, content_type = self.server.metrics.render(self.headers.get("accept", ""))
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/healthz":
            self._reply(200, {"status": "ok"})
        elif path == "/chaos":
            self._reply(200, {"faults": chaos.active_faults()})
        elif path == "/":
            started = time.perf_counter()
            if chaos.active("slow"):
                time.sleep(SLOW_DELAY_S)
            if chaos.fail_request():
                log_payment_failure(path)
                self._reply(500, {"error": "payment backend unavailable"})
                return
            token = do_work()
            if self.server.orders is not None:
                try:
                    self.server.orders.add(token)
                except OrderNotStored as exc:
                    log.error("Order %s not stored: %s", token, exc)
                    self._reply(500, {"error": "order not stored"})
                    return
            self._reply(200, {"status": "ok", "token": token})
            log.info("GET / 200 %.1fms", (time.perf_counter() - started) * 1000)
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        """Serve ``/login``, ``/chaos/<fault>`` and ``/chaos/reset``."""
        parts = urlsplit(self.path)
        if parts.path == "/login":
            self._login()
            return
        name = parts.path.removeprefix("/chaos/")
        if not parts.path.startswith("/chaos/") or (name not in FAULTS and name != "reset"):
            self._reply(404, {"error": f"unknown fault; one of {[*FAULTS, 'reset']}"})
            return
        query = parse_qs(parts.query)
        try:
            duration = float(query["duration_s"][0]) if "duration_s" in query else None
            ratio = float(query["ratio"][0]) if "ratio" in query else 1.0
        except ValueError:
            self._reply(400, {"error": "duration_s and ratio must be numbers"})
            return
        if not 0.0 < ratio <= 1.0:
            self._reply(400, {"error": "ratio must be in (0, 1]"})
            return
        chaos = self.server.chaos
        if name in chaos.unavailable:
            self._reply(409, {"error": f"{name}: {chaos.unavailable[name]}"})
            return
        if name == "reset":
            chaos.reset()
            log.info("chaos reset")
            self._reply(200, {"fault": "reset", "pid": os.getpid()})
            return
        # a security fault's name in the app's own log would tell the detector what it must find in the app's words
        # (the chaos topic still records it): those are not logged at INFO
        level = logging.DEBUG if name in SECURITY_FAULTS else logging.INFO
        log.log(level, "chaos fault injected: %s duration_s=%s ratio=%s", name, duration, ratio)
        self._reply(200, {"fault": name, "duration_s": duration, "ratio": ratio, "pid": os.getpid()})
        if name == "crash":
            log.critical("crashing on request (chaos)")
            logging.shutdown()
            os._exit(1)
        chaos.inject(name, duration, ratio=ratio)

    def _login(self) -> None:
        """Check a user and password; a failure is logged (user and client address), counted and a 401."""
        try:
            length = int(self.headers.get("content-length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= sec.MAX_LOGIN_BODY:
            self.close_connection = True
            self._reply(400, {"error": f"a body of at most {sec.MAX_LOGIN_BODY} bytes is required"})
            return
        try:
            user, password = sec.parse_login(self.rfile.read(length), self.headers.get("content-type", ""))
        except sec.LoginRejected as exc:
            self._reply(400, {"error": str(exc)})
            return
        credential = self.server.credential
        if credential is not None and credential.matches(user, password):
            log.info("login succeeded for user %s", sec.sanitize_user(user))
            self._reply(200, {"status": "ok"})
            return
        ip = sec.client_ip(self.client_address[0], self.headers.get("x-forwarded-for"))
        log.warning("authentication failed for user %s from %s", sec.sanitize_user(user), ip)
        self.server.metrics.security.auth_failures.inc()
        self._reply(401, {"error": "authentication failed"})


class DemoServer(ThreadingHTTPServer):
    """Threading HTTP server holding the chaos state."""

    daemon_threads = True
    request_queue_size = 128  # a real server's backlog; the default 5 drops probes while a slow fault piles requests up

    def __init__(
        self,
        address: tuple[str, int],
        chaos: Chaos,
        metrics: RedMetrics | None = None,
        orders: OrderStore | None = None,
        credential: sec.Credential | None = None,
    ) -> None:
        super().__init__(address, DemoHandler)
        self.chaos = chaos
        self.metrics = metrics or RedMetrics()
        self.orders = orders
        self.credential = credential
        """The one valid login (None: every login fails)."""

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """Log a client that hung up as one line; anything else with its traceback, as the base class does."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.info("client %s hung up: %s", client_address, error)
            return
        super().handle_error(request, client_address)


def add_security_faults(chaos: Chaos, *, public_url: str, egress: sec.Egress | None) -> None:
    """Give ``chaos`` the ``auth-attack`` loop (on ``public_url``) and ``exfiltrate`` (through ``egress``)."""

    def attack() -> None:
        log.debug("auth-attack started against %s", public_url)
        sent = sec.attack_loop(public_url, lambda: chaos.active("auth-attack"))
        log.debug("auth-attack stopped after %d attempts", sent)

    chaos.loops["auth-attack"] = attack
    # an application's thread names: the detector must find the fault from the lines, not from its chaos name
    chaos.thread_names |= {"auth-attack": "login-client", "exfiltrate": "export-worker"}
    if egress is None:
        chaos.unavailable["exfiltrate"] = f"no egress configured ({sec.EGRESS_URL_ENV})"
    else:
        chaos.loops["exfiltrate"] = lambda: egress.exfiltrate_loop(lambda: chaos.active("exfiltrate"))


def configure_logging(log_file: Path | None) -> None:
    """Log in the conventional ``date time,ms LEVEL demo [thread] message`` format, in UTC."""
    formatter = logging.Formatter(LOG_FORMAT)
    formatter.converter = time.gmtime
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for client in ("httpx", "httpcore"):  # its own outbound requests (egress, the attack) are no app log lines
        logging.getLogger(client).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    """Run the demo service until killed."""
    parser = argparse.ArgumentParser(prog="python -m incidentctl.demo_service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-file", type=Path, default=None)
    parser.add_argument("--pidfile", type=Path, default=None)
    args = parser.parse_args(argv)
    configure_logging(args.log_file)
    if args.pidfile is not None:
        args.pidfile.parent.mkdir(parents=True, exist_ok=True)
        args.pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")
    metrics = RedMetrics()
    if os.environ.get(BACKUP_STATUS_ENV):
        metrics.registry.register(BackupStatusCollector(Path(os.environ[BACKUP_STATUS_ENV])))
    dsn = os.environ.get(DSN_ENV)
    orders = OrderStore(dsn) if dsn else None
    if dsn:
        metrics.registry.register(
            OrderRowsCollector(OrderStore(dsn))
        )  # its own connection: scrapes never wait on writes
    egress_url, stop = os.environ.get(sec.EGRESS_URL_ENV), threading.Event()
    egress = sec.Egress(egress_url, metrics.security) if egress_url else None
    chaos = Chaos()
    public_url = os.environ.get(sec.PUBLIC_URL_ENV) or f"http://{args.host}:{args.port}"
    add_security_faults(chaos, public_url=public_url, egress=egress)
    server = DemoServer((args.host, args.port), chaos, metrics, orders, sec.credential_from(os.environ))
    if egress is not None:
        threading.Thread(target=egress.sync_loop, args=(stop,), name="egress-sync", daemon=True).start()
    log.info("demo service listening on %s:%d pid=%d", args.host, args.port, os.getpid())
    try:
        server.serve_forever()
    finally:
        stop.set()
        server.server_close()
        if orders is not None:
            orders.close()


if __name__ == "__main__":
    main()
