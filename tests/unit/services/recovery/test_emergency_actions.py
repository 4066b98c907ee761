"""Emergency actions: HAProxy states, backup choice and verdicts, declared rollbacks, located config errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from services.recovery.adapters.kube import RESTARTED_AT, KubeActionError, restart_patch
from services.recovery.adapters.kube import check_names as check_kube_names
from services.recovery.app import build_catalog
from services.recovery.domain.backups import BackupFile, backup_candidates, verification_verdict
from services.recovery.domain.catalog import (
    Catalog,
    Failover,
    Isolate,
    KubeCluster,
    RestartProcess,
    RolloutRestart,
    Scale,
    ServerChange,
    SupervisorRestart,
)
from services.recovery.domain.haproxy_state import (
    ServersStateError,
    check_names,
    describe_changes,
    missing_servers,
    parse_servers_state,
)
from services.recovery.settings import RecoverySettings
from shared.config_file import ConfigError

HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
    "srv_check_addr srv_agent_addr srv_agent_port"
)


def table(*rows: tuple[str, int]) -> str:
    """A ``show servers state`` answer (HAProxy 2.6) with ``(server, admin flags)`` rows of backend web."""
    lines = [f"3 web {i} {name} 127.0.0.1 2 {flags} 1 1 1 1 0 2 0 0 0 0 - 80 - 0 0 - - 0" for i, (name, flags) in
             enumerate(rows, 1)]  # fmt: skip
    return "\n".join(["1", HEADER, *lines]) + "\n\n"


def test_admin_flags_become_states() -> None:
    found = parse_servers_state(table(("a", 0), ("b", 1), ("c", 8), ("d", 4), ("e", 5), ("f", 9)))
    got = {server: s.state for (_, server), s in found.items()}
    # 4 = CMAINT only ("disabled" in the config, then set ready): it serves
    assert got == {"a": "ready", "b": "maint", "c": "drain", "d": "ready", "e": "maint", "f": "maint"}
    assert found[("web", "a")].address == "127.0.0.1" and found[("web", "a")].op_state == 2


@pytest.mark.parametrize("text", ["", "No such backend.\n", "2\n# be_name\n", "1\n3 web 1 a\n", f"1\n{HEADER}\n3 x"])
def test_what_is_not_a_state_table_is_refused(text: str) -> None:
    with pytest.raises(ServersStateError):
        parse_servers_state(text)


def test_verdict_is_what_haproxy_reports_after_the_change() -> None:
    changes = (ServerChange("web", "b", "ready"), ServerChange("web", "a", "maint"))
    before = parse_servers_state(table(("a", 0), ("b", 1)))
    assert describe_changes(changes, before, parse_servers_state(table(("a", 1), ("b", 0)))) == (
        True,
        "web/b maint->ready, web/a ready->maint",
    )
    ok, detail = describe_changes(changes, before, parse_servers_state(table(("a", 1), ("b", 1))))
    assert not ok and detail == "web/b maint->maint (wanted ready), web/a ready->maint"
    assert missing_servers((*changes, ServerChange("api", "a", "ready")), before) == ["api/a"]


@pytest.mark.parametrize("name", ["a b", "a;shutdown sessions", "a\nb", "", "web/x"])
def test_names_that_could_smuggle_a_command_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not an HAProxy name"):
        check_names([ServerChange("web", name, "ready")])


def failover() -> Failover:
    return Failover(name="web", target="web", socket="/run/haproxy.sock", backend="web", primary="a", standby="b")


def test_failover_rollback_is_the_reverse_and_declared() -> None:
    forward = failover()
    isolate = Isolate(name="a", target="web", socket="/run/haproxy.sock", backend="web", server="a")
    catalog = Catalog.build([forward, isolate])
    assert forward.changes() == (ServerChange("web", "b", "ready"), ServerChange("web", "a", "maint"))
    back = catalog.rollback_of(forward)
    assert back is catalog.resolve("failover:web:rollback", "web")
    assert isinstance(back, Failover)
    assert back.changes() == (ServerChange("web", "a", "ready"), ServerChange("web", "b", "maint"))
    assert catalog.rollback_of(back) is None
    unisolate = catalog.rollback_of(isolate)
    assert unisolate is not None and unisolate.action == "isolate:a:rollback"
    assert isinstance(unisolate, Isolate) and unisolate.changes() == (ServerChange("web", "a", "ready"),)
    assert catalog.describe(forward) == {"socket": "/run/haproxy.sock", "changes": "web/b ready, web/a maint"}


def test_actions_without_an_inverse() -> None:
    restart = RestartProcess(name="p", target="t", argv=("x",), pidfile="/tmp/p.pid")
    supervised = SupervisorRestart(name="w", target="t", socket="/run/s.sock", program="w")
    catalog = Catalog.build([restart, supervised])
    assert catalog.rollback_of(restart) is None and catalog.rollback_of(supervised) is None
    assert set(catalog.declared("t")) == {"restart_process", "supervisor_restart:w", "wait"}
    assert catalog.describe(supervised) == {"socket": "/run/s.sock", "program": "w"}


def test_settings_build_the_new_kinds() -> None:
    settings = RecoverySettings(
        failover_actions=[{"name": "web", "target": "web", "socket": "/run/h.sock", "backend": "web",
                           "primary": "a", "standby": "b", "primary_state": "drain"}],
        isolate_actions=[{"name": "a", "target": "web", "socket": "/run/h.sock", "backend": "web", "server": "a"}],
        supervisor_actions=[{"name": "w", "target": "app", "socket": "/run/s.sock", "program": "grp:w"}],
    )  # fmt: skip
    catalog = build_catalog(settings)
    assert set(catalog.declared("web")) == {"failover:web", "failover:web:rollback", "isolate:a",
                                            "isolate:a:rollback", "wait"}  # fmt: skip
    forward = catalog.resolve("failover:web", "web")
    assert isinstance(forward, Failover) and forward.primary_state == "drain"
    assert catalog.resolve("supervisor_restart:w", "app") == SupervisorRestart("w", "app", "/run/s.sock", "grp:w")


@pytest.mark.parametrize(
    ("body", "line", "field", "why"),
    [
        ("failover_actions:\n  - name: web\n    target: web\n    socket: /run/h.sock\n    backend: web\n"
         "    primary: 'a;shutdown'\n    standby: b\n", 6, r"failover_actions\.0\.primary", "HAProxy name"),
        ("failover_actions:\n  - name: web\n    target: web\n    socket: run/h.sock\n    backend: web\n"
         "    primary: a\n    standby: b\n", 4, r"failover_actions\.0\.socket", "absolute path"),
        ("failover_actions:\n  - name: web\n    target: web\n    socket: /run/h.sock\n    backend: web\n"
         "    primary: a\n    standby: a\n", 2, r"failover_actions\.0", "different servers"),
        ("isolate_actions:\n  - name: a\n    target: web\n    socket: /h.sock\n    backend: web\n"
         "    server: a\n    state: ready\n", 7, r"isolate_actions\.0\.state", "Extra inputs"),
        ("supervisor_actions:\n  - name: w\n    target: app\n    socket: /s.sock\n    program: ../w\n",
         5, r"supervisor_actions\.0\.program", "program name"),
    ],
)  # fmt: skip
def test_a_bad_action_config_names_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, line: int, field: str, why: str
) -> None:
    path = tmp_path / "recovery.yaml"
    path.write_text(body)
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match=rf"{path}:{line}: {field}: .*{why}"):
        RecoverySettings.load()


def test_backup_candidates_are_newest_first_and_never_partial() -> None:
    listing = [
        BackupFile("app-1.dump", 10, 100.0),
        BackupFile("app-3.dump", 0, 300.0),  # empty: still being written
        BackupFile("app-2.dump", 10, 200.0),
        BackupFile("app-2b.dump", 10, 200.0),
        BackupFile(".app-4.dump", 10, 400.0),
        BackupFile("app-5.dump.partial", 10, 500.0),
        BackupFile("notes.txt", 10, 600.0),
    ]
    assert [f.name for f in backup_candidates(listing, suffix=".dump")] == ["app-2b.dump", "app-2.dump", "app-1.dump"]
    assert backup_candidates([], suffix=".dump") == []


@pytest.mark.parametrize(
    ("value", "ok", "detail"),
    [
        (100, True, "verification 100 >= 100"),
        (Decimal("100.5"), True, "verification 100.5 >= 100"),
        (99, False, "verification 99 < 100"),
        (None, False, "verification returned None, not a number"),
        (True, False, "verification returned True, not a number"),
        ("many", False, "verification returned 'many', not a number"),
        (float("nan"), False, "verification returned NaN"),
    ],
)
def test_verification_verdict(value: object, ok: bool, detail: str) -> None:
    assert verification_verdict(value, 100) == (ok, detail)


def test_postgres_actions_show_the_variable_never_the_dsn() -> None:
    settings = RecoverySettings(
        promote_actions=[{"name": "db", "target": "db", "dsn_env": "DB_STANDBY_DSN"}],
        restore_actions=[{"name": "app", "target": "db", "dsn_env": "APP_DSN", "backup_dir": "/var/backups/app",
                          "verify_query": "SELECT count(*) FROM items", "verify_min": 1}],
    )  # fmt: skip
    catalog = build_catalog(settings)
    promote = catalog.resolve("promote_standby:db", "db")
    restore = catalog.resolve("restore_backup:app", "db")
    assert catalog.describe(promote) == {"dsn_env": "DB_STANDBY_DSN"}
    assert catalog.describe(restore) == {"dsn_env": "APP_DSN", "backup_dir": "/var/backups/app", "verify_min": "1"}
    assert catalog.rollback_of(promote) is None and catalog.rollback_of(restore) is None


@pytest.mark.parametrize(
    ("body", "line", "field", "why"),
    [
        ("promote_actions:\n  - name: db\n    target: db\n    dsn_env: 'postgres://u:p@h/db'\n",
         4, r"promote_actions\.0\.dsn_env", "pattern"),
        ("restore_actions:\n  - name: app\n    target: db\n    dsn_env: APP_DSN\n    backup_dir: backups\n"
         "    verify_query: SELECT 1\n    verify_min: 1\n", 5, r"restore_actions\.0\.backup_dir", "absolute"),
        ("restore_actions:\n  - name: app\n    target: db\n    dsn_env: APP_DSN\n    backup_dir: /b\n"
         "    verify_query: SELECT 1\n", 2, r"restore_actions\.0\.verify_min", "Field required"),
        ("restore_actions:\n  - name: app\n    target: db\n    dsn_env: APP_DSN\n    backup_dir: /b\n"
         "    verify_query: SELECT 1\n    verify_min: 1\n    pg_restore: bin/pg_restore\n", 8,
         r"restore_actions\.0\.pg_restore", "bare program name"),
    ],
)  # fmt: skip
def test_a_bad_postgres_action_config_names_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, line: int, field: str, why: str
) -> None:
    path = tmp_path / "recovery.yaml"
    path.write_text(body)
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match=rf"{path}:{line}: {field}: .*{why}"):
        RecoverySettings.load()


def test_kubernetes_actions_from_settings() -> None:
    cluster = {
        "namespace": "shop",
        "deployment": "web",
        "api_server": "https://k8s.local:6443",
        "token_env": "K8S_TOKEN",
    }
    settings = RecoverySettings(
        rollout_restart_actions=[{"name": "web", "target": "web", **cluster}],
        scale_actions=[
            {"name": "out", "target": "web", "replicas": 6, "rollback_replicas": 3, **cluster},
            {"name": "zero", "target": "web", "replicas": 0, **cluster},
        ],
    )
    catalog = build_catalog(settings)
    restart = catalog.resolve("rollout_restart:web", "web")
    assert isinstance(restart, RolloutRestart)
    assert restart.cluster == KubeCluster("https://k8s.local:6443", "K8S_TOKEN", None)
    out = catalog.resolve("scale:out", "web")
    back = catalog.rollback_of(out)
    assert isinstance(back, Scale) and back is catalog.resolve("scale:out:rollback", "web") and back.wanted == 3
    assert catalog.describe(back) == {"deployment": "shop/web", "replicas": "3"}
    assert catalog.rollback_of(catalog.resolve("scale:zero", "web")) is None
    assert catalog.rollback_of(restart) is None and catalog.describe(restart) == {"deployment": "shop/web"}


def test_rollout_restart_patch_is_kubectls() -> None:
    assert restart_patch("2026-12-05T22:00:00Z") == {
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "2026-12-05T22:00:00Z"}}}}
    }


@pytest.mark.parametrize(
    ("namespace", "deployment"), [("Shop", "web"), ("shop", "web/../x"), ("shop", "-web"), ("", "w")]
)
def test_kubernetes_names_are_checked_before_any_request(namespace: str, deployment: str) -> None:
    with pytest.raises(KubeActionError, match="not a"):
        check_kube_names(namespace, deployment)


@pytest.mark.parametrize(
    ("extra", "line", "field", "why"),
    [
        ("    namespace: Shop\n", 4, r"scale_actions\.0\.namespace", "pattern"),
        ("    namespace: shop\n    replicas: -1\n", 5, r"scale_actions\.0\.replicas", "greater than or equal"),
        ("    namespace: shop\n    replicas: 1\n    api_server: 'k8s.local; rm'\n", 6,
         r"scale_actions\.0\.api_server", "pattern"),
        ("    namespace: shop\n    replicas: 1\n    token_env: 'secret-token-value'\n", 6,
         r"scale_actions\.0\.token_env", "pattern"),
    ],
)  # fmt: skip
def test_a_bad_kubernetes_action_config_names_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, line: int, field: str, why: str
) -> None:
    path = tmp_path / "recovery.yaml"
    path.write_text("scale_actions:\n  - name: web\n    target: web\n" + extra + "    deployment: web\n")
    monkeypatch.setenv("IR_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match=rf"{path}:{line}: {field}: .*{why}"):
        RecoverySettings.load()


TOC = """;
; Archive created at 2026-12-06 02:25:29 UTC
;     dbname: demo
215; 1259 16390 TABLE public orders demo
214; 1259 16389 SEQUENCE public orders_id_seq demo
3312; 0 16390 TABLE DATA public orders demo
3313; 0 16400 TABLE DATA audit events demo
"""


def test_an_archive_holds_the_rows_of_the_tables_its_data_entries_name() -> None:
    from services.recovery.domain.backups import archive_tables, missing_tables

    held = archive_tables(TOC)
    assert held == {"public.orders", "audit.events"}
    assert missing_tables(held, ["orders", "audit.events"]) == []
    assert missing_tables(held, ["customers", "public.orders", "audit.orders"]) == ["customers", "audit.orders"]
    assert archive_tables(";\n; TABLE DATA public orders demo\n") == frozenset()  # a comment is no entry


SCRIPT = """--
-- PostgreSQL database dump
--
COPY public.orders (id, token, created_at) FROM stdin;
1\ta\t2026-12-06 02:25:01+00
2\tb\t2026-12-06 02:25:02+00
\\.

--
"""


def test_a_restore_is_checked_row_by_row_against_its_archive() -> None:
    from services.recovery.domain.backups import archive_copy_rows, rows_verdict

    archived = archive_copy_rows(SCRIPT)
    assert archived == ["1\ta\t2026-12-06 02:25:01+00", "2\tb\t2026-12-06 02:25:02+00"]
    later = "3\tc\t2026-12-06 02:27:00+00"
    ok, detail = rows_verdict(archived, [later, *reversed(archived)])  # any order; rows written since are fine
    assert ok and detail.startswith("all 2 archived rows back (checksum ")
    ok, detail = rows_verdict(archived, [archived[0], "2\tB\t2026-12-06 02:25:02+00"])  # one row changed
    assert not ok and detail.startswith("1 of 2 archived rows not back")
    assert rows_verdict([], [])[0] and archive_copy_rows("no copy here") == []
