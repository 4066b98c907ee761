"""The demo's login and egress pieces (issue 17): constant-time credential, safe log text, the signals they feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentctl import demo_config
from incidentctl import demo_security as sec
from incidentctl.demo_estate import BACKUP_STATUS_ENV, DSN_ENV
from incidentctl.demo_security_config import merged, security_endpoint
from incidentctl.demo_service import FAULTS, Chaos, RedMetrics, add_security_faults
from incidentctl.estate import haproxy
from incidentctl.estate.runner import EstateState
from incidentctl.stack import StackState
from services.collector.domain.exposition import is_openmetrics, parse_exposition, relabel
from services.collector.domain.signals import Snapshot, derive
from services.collector.exposition_config import ExpositionConfig
from services.collector.settings import CollectorSettings
from services.detector.domain.critical import CriticalClass, classify_template
from services.recovery.settings import RecoverySettings
from shared import metric_names as mn

GOOD = sec.Credential("demo-admin", "s3cret-pass")


@pytest.mark.parametrize(
    ("user", "password", "ok"),
    [
        ("demo-admin", "s3cret-pass", True),
        ("demo-admin", "s3cret-pasS", False),
        ("demo-admin", "", False),
        ("demo-admin ", "s3cret-pass", False),
        ("root", "s3cret-pass", False),
        ("데모", "비밀", False),
    ],
)
def test_only_the_one_credential_matches(user: str, password: str, ok: bool) -> None:
    assert GOOD.matches(user, password) is ok


def test_an_empty_password_never_matches_and_the_password_stays_out_of_the_repr() -> None:
    assert not sec.Credential("u", "").matches("u", "")
    assert "s3cret" not in repr(GOOD) and "demo-admin" in repr(GOOD)


def test_the_credential_comes_from_the_environment_or_a_private_file(tmp_path: Path) -> None:
    secret = tmp_path / "login"
    secret.write_text("from-file\n")
    assert sec.credential_from({sec.LOGIN_USER_ENV: "a", sec.LOGIN_PASSWORD_ENV: "p"}) == sec.Credential("a", "p")
    assert sec.credential_from({sec.LOGIN_USER_ENV: "a", sec.LOGIN_FILE_ENV: str(secret)}) == sec.Credential(
        "a", "from-file"
    )
    assert sec.credential_from({sec.LOGIN_USER_ENV: "a", sec.LOGIN_FILE_ENV: str(tmp_path / "none")}) is None
    assert sec.credential_from({sec.LOGIN_PASSWORD_ENV: "p"}) is None


@pytest.mark.parametrize(
    ("user", "logged"),
    [
        ("mallory", "mallory"),
        ("", "-"),
        ("eve\nINFO forged line", "eve?INFO forged line"),
        ("tab\there\x1b[31m", "tab?here?[31m"),
        ("x" * 500, "x" * 61 + "..."),
        ("관리자", "관리자"),
    ],
)
def test_a_user_name_becomes_one_bounded_printable_piece_of_a_line(user: str, logged: str) -> None:
    assert sec.sanitize_user(user) == logged
    assert len(sec.sanitize_user(user)) <= sec.MAX_USER_CHARS


@pytest.mark.parametrize(
    ("body", "content_type", "parsed"),
    [
        (b"user=alice&password=pw", "application/x-www-form-urlencoded", ("alice", "pw")),
        (b"user=alice&password=", "", ("alice", "")),
        (b'{"user": "bob", "password": "x"}', "application/json; charset=utf-8", ("bob", "x")),
    ],
)
def test_a_login_is_a_form_or_json(body: bytes, content_type: str, parsed: tuple[str, str]) -> None:
    assert sec.parse_login(body, content_type) == parsed


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (b"user=alice", "", "required"),
        (b'{"user": 1, "password": "x"}', "application/json", "required"),
        (b"[1]", "application/json", "object"),
        (b"{", "application/json", "not JSON"),
        (b"\xff\xfe", "", "UTF-8"),
        (b"user=" + b"a" * 5000, "", "too large"),
    ],
)
def test_anything_else_is_a_bad_request(body: bytes, content_type: str, why: str) -> None:
    with pytest.raises(sec.LoginRejected, match=why):
        sec.parse_login(body, content_type)


@pytest.mark.parametrize(
    ("peer", "forwarded", "ip"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "10.0.0.1, 198.51.100.7", "198.51.100.7"),  # the proxy's own hop is the last
        ("127.0.0.1", "evil\nline", "?"),
        ("192.0.2.4", "203.0.113.9", "192.0.2.4"),  # only a local proxy is trusted to say who the client is
    ],
)
def test_the_client_address_is_the_proxy_s_last_hop_only_behind_a_local_proxy(
    peer: str, forwarded: str | None, ip: str
) -> None:
    assert sec.client_ip(peer, forwarded) == ip


def test_fake_records_are_whole_lines_of_the_record_size() -> None:
    body = sec.fake_records(64 * 1024)
    assert len(body) == 64 * 1024 and body.count(b"\n") == 64 * 1024 // sec.RECORD_BYTES
    assert body.startswith(b"cust-00000000,") and b"cust-00000511," in body


def test_exfiltrate_is_refused_without_an_egress_and_both_faults_are_known() -> None:
    chaos = Chaos()
    add_security_faults(chaos, public_url="http://127.0.0.1:9", egress=None)
    assert {"auth-attack", "exfiltrate"} <= set(FAULTS)
    assert "auth-attack" in chaos.loops and "exfiltrate" not in chaos.loops
    assert sec.EGRESS_URL_ENV in chaos.unavailable["exfiltrate"]
    assert chaos.thread_names["auth-attack"] == "login-client"  # no fault name in the lines the thread logs


@pytest.mark.parametrize(
    ("line", "level", "cls"),
    [
        ("authentication failed for user <*> from <*>", "WARNING", CriticalClass.SECURITY),
        ("bulk export of <*> customer records to external host <*>", "INFO", CriticalClass.LEAK),
        ("bulk export to external host <*> refused <*> times", "WARNING", CriticalClass.LEAK),
        ("login succeeded for user <*>", "INFO", CriticalClass.NONE),
        ("auth-attack started against <*>", "INFO", CriticalClass.NONE),
    ],
)
def test_the_demo_s_own_lines_fall_in_the_detector_s_critical_classes(line: str, level: str, cls: str) -> None:
    assert classify_template(line, level).cls is cls


def _scrape(red: RedMetrics, endpoint: ExpositionConfig, at: float, accept: str) -> Snapshot:
    body, content_type = red.render(accept)
    series = parse_exposition(body.decode(), openmetrics=is_openmetrics(content_type), max_series=1000)
    return Snapshot(at, relabel(series, endpoint.rules()))


@pytest.mark.parametrize("accept", ["", "application/openmetrics-text; version=1.0.0"])
def test_the_collector_turns_the_demo_s_counters_into_the_security_and_leak_signals(accept: str) -> None:
    endpoint = ExpositionConfig.model_validate(security_endpoint("http://127.0.0.1:4"))
    red = RedMetrics()
    red.security.egress_bytes.inc(10_000)
    red.observe("GET", "/", 200, 0.01)
    first = _scrape(red, endpoint, 100.0, accept)
    assert {s.name for s in first.series} == {"net.sent_bytes_total", "auth.failures_total"}
    red.security.egress_bytes.inc(32 * 2**20)
    for _ in range(40):
        red.security.auth_failures.inc()
    second = _scrape(red, endpoint, 102.0, accept)
    samples, cut = derive(first, second, endpoint.options())
    values = {s.name: s.value for s in samples}
    assert cut == 0
    assert values == {mn.NET_SENT: 16 * 2**20, mn.AUTH_FAILURES: 20.0}  # the demo's own, not its host's
    assert mn.HTTP_THROUGHPUT not in values  # the RED metrics are the other endpoint's


def _state(tmp_path: Path) -> StackState:
    return StackState(root=str(tmp_path), kafka="127.0.0.1:1", elasticsearch="http://127.0.0.1:2",
                      api_url="http://127.0.0.1:3", demo_url="http://127.0.0.1:4", api_token="t")  # fmt: skip


def test_with_the_estate_s_entrance_the_demo_is_watched_for_both_and_recovery_isolates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    estate = EstateState(str(tmp_path), "/usr/lib/postgresql/15/bin", "/tmp/ir-pg-x", 5, 6, 7, 11, demo_port=4,
                         web_port=8, egress_port=9, sink_port=10)  # fmt: skip
    estate.estate_dir.mkdir()
    estate.save()
    demo = demo_config.demo_process(tmp_path, 4, {DSN_ENV: "host=x", BACKUP_STATUS_ENV: "/x/s.json"})
    state = _state(tmp_path)
    configs = demo_config.service_configs(tmp_path, state, demo)
    assert demo_config.public_url(state) == "http://127.0.0.1:8"
    endpoints = CollectorSettings.model_validate(configs["collector"]).targets[0].exposition
    assert [e.name for e in endpoints] == ["metrics", "backup", "security"]
    recovery = RecoverySettings.model_validate(configs["recovery"])
    policy = recovery.targets["demo"]
    assert policy.remedies["security"] == ["isolate:demo-public"] and policy.remedies["leak"] == ["isolate:demo-egress"]
    assert "data_loss" in policy.remedies  # the estate's own emergency actions are kept beside them
    approvals = {n: (a.timeout_s, a.default, a.severities) for n, a in policy.approval.items()}
    assert approvals["isolate:demo-public"] == approvals["isolate:demo-egress"] == (60, "deny", ["critical"])
    assert policy.rollback == {}  # containment fails closed
    assert [(i.backend, i.server) for i in recovery.isolate_actions] == [
        (haproxy.WEB_BACKEND, haproxy.WEB_SERVER),
        (haproxy.EGRESS_BACKEND, haproxy.EGRESS_SERVER),
    ]
    assert all(i.socket == str(estate.admin_socket) for i in recovery.isolate_actions)


def test_without_an_estate_the_load_goes_straight_to_the_demo(tmp_path: Path) -> None:
    assert demo_config.public_url(_state(tmp_path)) == "http://127.0.0.1:4"


def test_merging_joins_targets_and_lists_and_replaces_the_rest() -> None:
    base = {"targets": {"demo": {"remedies": {"data_loss": ["r"]}}}, "isolate_actions": [1], "x": 1}
    extra = {"targets": {"demo": {"remedies": {"leak": ["i"]}}}, "isolate_actions": [2], "x": 2}
    assert merged(base, extra) == {
        "targets": {"demo": {"remedies": {"data_loss": ["r"], "leak": ["i"]}}},
        "isolate_actions": [1, 2],
        "x": 2,
    }


def test_haproxy_is_the_demo_s_public_entrance_and_its_egress() -> None:
    text = haproxy.config(port=1, primary_port=2, standby_port=3, health_port=8, admin_socket=Path("/tmp/x.sock"),
                          web_port=4, demo_port=5, egress_port=6, sink_port=7)  # fmt: skip
    servers = [line.split()[:3] for line in text.splitlines() if line.strip().startswith("server ")]
    assert servers[2:] == [["server", "demo", "127.0.0.1:5"], ["server", "sink", "127.0.0.1:7"]]
    assert "bind 127.0.0.1:4" in text and "bind 127.0.0.1:6" in text and "option forwardfor" in text
    plain = haproxy.config(port=1, primary_port=2, standby_port=3, health_port=8, admin_socket=Path("/tmp/x.sock"))
    assert "web_in" not in plain and "egress_in" not in plain


def test_the_demo_and_only_the_demo_gets_its_entrance_egress_and_login_settings() -> None:
    from incidentctl.child_env import child_env

    env = {sec.PUBLIC_URL_ENV: "http://p", sec.EGRESS_URL_ENV: "http://e/upload", sec.LOGIN_USER_ENV: "u",
           sec.LOGIN_FILE_ENV: "/x/demo-login"}  # fmt: skip
    assert child_env("demo", {}, env).items() >= env.items()
    assert not set(env) & set(child_env("collector", {}, env)) and not set(env) & set(child_env("load", {}, env))
