"""The demo's security surface: a login that can fail, and an egress that can leak (issue 17's security faults).

* ``POST /login`` takes ``user`` and ``password`` (form or JSON) and compares them with the one valid
  credential in constant time: ``IR_DEMO_LOGIN_USER`` and the password in ``IR_DEMO_LOGIN_PASSWORD``,
  or in the 0600 file ``IR_DEMO_LOGIN_FILE`` names (what the stack sets: the demo's environment is
  written into the recovery service's configuration, to restart it the same way, and a secret must not be).
  A failure logs ``authentication failed for user <user> from <ip>`` (the user sanitised, never the
  password), answers 401 and counts ``demo_auth_failures_total``.
* Egress (``IR_DEMO_EGRESS_URL``, HAProxy's egress frontend to the estate's sink): a small steady
  sync, the learned level of outbound traffic; the ``exfiltrate`` fault sends customer records in bulk
  on top of it. Bytes the far end accepted are counted in ``demo_egress_bytes_total``.
* The ``auth-attack`` fault sends failed logins to the demo's public URL (``IR_DEMO_PUBLIC_URL``,
  HAProxy's public frontend; the demo's own URL without it).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import random
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, urlsplit

import httpx
from prometheus_client import CollectorRegistry, Counter

from shared.errors import DataError

LOGIN_USER_ENV: Final = "IR_DEMO_LOGIN_USER"
LOGIN_PASSWORD_ENV: Final = "IR_DEMO_LOGIN_PASSWORD"
LOGIN_FILE_ENV: Final = "IR_DEMO_LOGIN_FILE"
DEMO_USER: Final = "demo-admin"
PUBLIC_URL_ENV: Final = "IR_DEMO_PUBLIC_URL"
EGRESS_URL_ENV: Final = "IR_DEMO_EGRESS_URL"

AUTH_FAILURES_METRIC: Final = "demo_auth_failures_total"
EGRESS_BYTES_METRIC: Final = "demo_egress_bytes_total"
MAX_USER_CHARS: Final = 64
MAX_LOGIN_BODY: Final = 4096
ATTACK_RATE_PER_S: Final = 20.0
EXFILTRATE_BYTES_PER_S: Final = 16 * 2**20
"""Far above the detector's smallest reportable outbound departure (8 MiB/s) and the steady sync."""
EXFILTRATE_CHUNK: Final = 2**20
SYNC_BYTES: Final = 16 * 1024
SYNC_PERIOD_S: Final = 1.0
RECORD_BYTES: Final = 128

log = logging.getLogger("demo")
_UNPRINTABLE: Final = str.maketrans({c: "?" for c in map(chr, [*range(32), 127])})


class LoginRejected(DataError, ValueError):
    """The login request is not a user and password (a bad request, not a failed login)."""


@dataclass(frozen=True)
class Credential:
    """The one valid login; the password never appears in its repr."""

    user: str
    password: str = field(repr=False)

    def matches(self, user: str, password: str) -> bool:
        """Constant-time comparison of both parts (no early exit on the user)."""
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user_ok and password_ok and bool(self.password)


def credential_from(env: Mapping[str, str]) -> Credential | None:
    """The valid login from the environment (see the module docstring), or None when there is none."""
    user, password = env.get(LOGIN_USER_ENV, ""), env.get(LOGIN_PASSWORD_ENV, "")
    if not password and env.get(LOGIN_FILE_ENV):
        try:
            password = Path(env[LOGIN_FILE_ENV]).read_text(encoding="utf-8").strip()
        except OSError:
            return None
    return Credential(user, password) if user and password else None


def sanitize_user(user: str) -> str:
    """A user name safe for one log line: control characters replaced, at most `MAX_USER_CHARS` (``-`` if empty)."""
    text = user.translate(_UNPRINTABLE)
    if len(text) > MAX_USER_CHARS:
        text = text[: MAX_USER_CHARS - 3] + "..."
    return text or "-"


def parse_login(body: bytes, content_type: str) -> tuple[str, str]:
    """Return ``(user, password)`` from a JSON or form body; raise `LoginRejected` otherwise."""
    if len(body) > MAX_LOGIN_BODY:
        raise LoginRejected("body too large")
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise LoginRejected("body is not UTF-8") from exc
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LoginRejected("body is not JSON") from exc
        if not isinstance(data, dict):
            raise LoginRejected("JSON body must be an object")
        user, password = data.get("user"), data.get("password")
    else:
        form = parse_qs(text, keep_blank_values=True)
        user, password = (form.get(k, [None])[0] for k in ("user", "password"))
    if not isinstance(user, str) or not isinstance(password, str):
        raise LoginRejected("user and password are required strings")
    return user, password


def client_ip(peer: str, forwarded_for: str | None) -> str:
    """The client's address: the last ``X-Forwarded-For`` hop when the peer is a local proxy, else the peer."""
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return "?"
    if local and forwarded_for:
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return "?"
    return peer


class SecurityMetrics:
    """The counters of failed logins and egress bytes, on the demo's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.auth_failures = Counter(
            AUTH_FAILURES_METRIC.removesuffix("_total"), "Failed login attempts", registry=registry
        )
        self.egress_bytes = Counter(
            EGRESS_BYTES_METRIC.removesuffix("_total"), "Bytes sent out through the egress", registry=registry
        )


def attack_loop(url: str, active: Callable[[], bool], *, rate: float = ATTACK_RATE_PER_S) -> int:
    """Send failed logins to ``url`` (its ``/login``) at ``rate`` a second while ``active()``; return how many."""
    target = url.rstrip("/") + "/login"
    sent, period, next_at = 0, 1.0 / rate, time.monotonic()
    with httpx.Client(timeout=5.0, headers={"user-agent": "credential-stuffer/0.1"}) as client:
        while active():
            user = random.choice(("admin", "root", "alice", "bob", "support", "oracle", "test"))
            guess = "".join(random.choices(string.ascii_letters + string.digits, k=12))
            with contextlib.suppress(httpx.HTTPError):  # the entrance is closed or down: an attacker keeps trying
                client.post(target, data={"user": user, "password": guess})
            sent += 1
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))
    return sent


def fake_records(size: int) -> bytes:
    """``size`` bytes of made-up customer records (CSV lines of `RECORD_BYTES`)."""
    line = b"cust-%08d,Jane Doe,jane.doe@example.com,+82-10-0000-0000,Seoul"
    count = max(1, size // RECORD_BYTES)
    return b"".join((line % i).ljust(RECORD_BYTES - 1, b" ") + b"\n" for i in range(count))


class Egress:
    """The demo's outbound traffic through ``url``: what the far end accepted is counted."""

    def __init__(self, url: str, metrics: SecurityMetrics) -> None:
        self.url, self.metrics = url, metrics
        self.host = urlsplit(url).netloc
        self._client = httpx.Client(timeout=10.0)
        self._lock = threading.Lock()

    def send(self, body: bytes) -> bool:
        """POST ``body``; count it when accepted (2xx). Return whether it was."""
        try:
            with self._lock:
                response = self._client.post(self.url, content=body)
        except httpx.HTTPError:
            return False
        if 200 <= response.status_code < 300:
            self.metrics.egress_bytes.inc(len(body))
            return True
        return False

    def sync_loop(self, stop: threading.Event) -> None:
        """The steady, legitimate outbound traffic: `SYNC_BYTES` every `SYNC_PERIOD_S`."""
        body = fake_records(SYNC_BYTES)
        while not stop.wait(SYNC_PERIOD_S):
            self.send(body)

    def exfiltrate_loop(self, active: Callable[[], bool], *, rate: float = EXFILTRATE_BYTES_PER_S) -> None:
        """Send records in bulk at ``rate`` bytes a second while ``active()``; log one line a second."""
        chunk = fake_records(EXFILTRATE_CHUNK)
        records = len(chunk) // RECORD_BYTES
        period, next_at, said_at, exported, failed = len(chunk) / rate, time.monotonic(), time.monotonic(), 0, 0
        while active():
            ok = self.send(chunk)
            exported, failed = (exported + records, failed) if ok else (exported, failed + 1)
            now = time.monotonic()
            if now - said_at >= 1.0:
                if exported:
                    log.info("bulk export of %d customer records to external host %s", exported, self.host)
                if failed:
                    log.warning("bulk export to external host %s refused %d times", self.host, failed)
                said_at, exported, failed = now, 0, 0
            next_at += period if ok else 0.5  # a closed egress: retry twice a second, do not spin
            next_at = max(next_at, now - 1.0)
            time.sleep(max(0.0, next_at - time.monotonic()))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
