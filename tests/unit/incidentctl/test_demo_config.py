"""The demo stack's collector scrapes the demo's /metrics, and its load generator is configured from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentctl import demo_config
from incidentctl.stack import StackState
from services.collector.settings import CollectorSettings


def state(tmp_path: Path) -> StackState:
    return StackState(
        root=str(tmp_path), kafka="127.0.0.1:1", elasticsearch="http://127.0.0.1:2", api_url="http://127.0.0.1:3",
        demo_url="http://127.0.0.1:4", api_token="t", pager_url="http://127.0.0.1:5/pages",
    )  # fmt: skip


def test_the_demo_collector_config_scrapes_the_demos_metrics_and_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IR_CONFIG_FILE", raising=False)
    s = state(tmp_path)
    configs = demo_config.service_configs(tmp_path, s, demo_config.demo_process(tmp_path, 4))
    target = CollectorSettings.model_validate(configs["collector"]).targets[0]
    (endpoint,) = target.exposition
    assert endpoint.url == "http://127.0.0.1:4/metrics" and endpoint.rate_window_s > 0
    assert endpoint.options().http is not None and [r.action for r in endpoint.rules()] == ["keep"]


@pytest.mark.parametrize(("env", "rate"), [(None, "50"), ("20", "20"), ("0", None), ("-1", None), ("x", "50")])
def test_the_load_generator_rate_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str | None, rate: str | None
) -> None:
    if env is None:
        monkeypatch.delenv("IR_DEMO_LOAD_RPS", raising=False)
    else:
        monkeypatch.setenv("IR_DEMO_LOAD_RPS", env)
    argv = demo_config.load_process("http://127.0.0.1:4")
    if rate is None:
        assert argv is None
    else:
        assert argv is not None and argv[-4:] == ("--url", "http://127.0.0.1:4/", "--rate", rate)


@pytest.mark.parametrize("argv", [["chaos", "slow", "--ratio", "0.5"], ["chaos", "error-burst", "--ratio", "2"]])
def test_a_misplaced_ratio_is_one_line_that_says_what_to_do(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from incidentctl.__main__ import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--ratio 0.01" in err and "Traceback" not in err
