"""Issue 15, item 6: a threshold suggestion of the plan carries the what-if that tests it on the incident's window."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime

from incidentctl.__main__ import build_parser
from incidentctl.replay_cmd import Window
from incidentctl.whatif import check_prefix
from services.rca.report import wording as w
from services.rca.report.improve import noisy_rules
from services.rca.report.model import Improvement
from services.rca.report.plan import plan
from shared import models as m
from tests.unit.services.rca.scenario import at, incident

HANGUL = re.compile(r"[\uac00-\ud7a3]")
WINDOW = (datetime(2026, 5, 1, 14, 0, 3, 250_000, tzinfo=UTC), datetime(2026, 5, 1, 14, 20, 9, 1, tzinfo=UTC))
NOISY = Improvement(
    "threshold", "noisy_threshold",
    {"rule": "demo host.load1 (threshold)", "fired": "40", "linked": "0", "current": "2", "suggested": "6.49",
     "rule_name": "host-load"},
)  # fmt: skip
SILENT = Improvement(
    "silent",
    "silent_signal_threshold",
    {"entity": "demo", "signal": "process.cpu_percent", "op": ">", "suggested": "52.5"},
)
NO_VALUE = Improvement("noisy", "noisy_rule", {"rule": "demo log:x (log_pattern)", "fired": "9", "linked": "0"})


def _planned(*items: Improvement, window: tuple[datetime, datetime] | None = WINDOW) -> dict[str, Improvement]:
    inc = incident(("an-1",)).model_copy(update={"incident_id": "inc-7f3a"})
    return {i.key: i for i in plan(items, inc, opened_at=at(10), window=window)}


def test_threshold_items_carry_the_replay_command_on_the_incident_window() -> None:
    by_key = _planned(NOISY, SILENT, NO_VALUE)
    expected = (
        "incidentctl replay --into whatif-inc-7f3a. --from 2026-05-01T14:00:03Z --to 2026-05-01T14:20:10Z "
        "--config .stack/whatif-inc-7f3a/"
    )
    assert by_key["noisy_threshold"].params["command"] == expected
    assert by_key["noisy_threshold"].params["change"] == "value: 6.49"
    assert by_key["silent_signal_threshold"].params["command"] == expected
    assert by_key["silent_signal_threshold"].params["change"] == (
        '- {name: whatif-process-cpu_percent, metric: process.cpu_percent, op: ">", value: 52.5, targets: demo, '
        "impact: partial_outage}"
    )
    assert "command" not in by_key["noisy_rule"].params  # no suggested value: nothing to test
    assert all("command" not in i.params for i in _planned(NOISY, SILENT, window=None).values())


def test_the_command_is_one_incidentctl_accepts() -> None:
    command = _planned(NOISY)["noisy_threshold"].params["command"]
    argv = shlex.split(command)
    assert argv[0] == "incidentctl"
    args = vars(build_parser().parse_args(argv[1:]))
    assert check_prefix(args["into"], "") == "whatif-inc-7f3a."
    window = Window.parse(args["start"], args["end"], now=WINDOW[1])
    assert window.start is not None and window.end is not None
    assert window.start <= WINDOW[0] and window.end >= WINDOW[1]


def test_the_what_if_is_worded_in_both_languages_with_the_suggested_value() -> None:
    for item in _planned(NOISY, SILENT).values():
        if "command" not in item.params:
            continue
        en, ko = w.improvement(item, "en")[1], w.improvement(item, "ko")[1]
        for sentence in (en, ko):
            assert item.params["command"] in sentence and item.params["change"] in sentence
            assert item.params["suggested"] in sentence
        assert HANGUL.search(ko) and not HANGUL.search(en)
    noisy_en = w.improvement(_planned(NOISY)["noisy_threshold"], "en")[1]
    assert "on rule host-load" in noisy_en and "Test 6.49 on this incident's window" in noisy_en


def test_a_noisy_rule_names_the_detector_rule_it_came_from() -> None:
    firings = [
        m.Anomaly(
            anomaly_id=f"a{i}", fingerprint="f", kind=m.AnomalyKind.THRESHOLD, target="demo", signal="host.load1",
            impact=m.Impact.RESOURCE_PRESSURE, score=0.5, observed=2.0 + i / 10, threshold=2.0, since=at(i),
            last_seen=at(i), summary="s", labels={"rule": "host-load"},
        )
        for i in range(10)
    ]  # fmt: skip
    (item,) = noisy_rules(firings, incident_anomaly_ids=set(), min_firings=5)
    assert item.params["rule_name"] == "host-load"
    planned = _planned(item)["noisy_threshold"]
    assert planned.params["change"] == f"value: {item.params['suggested']}"


def test_the_suggested_rule_is_one_the_detector_reads() -> None:
    import yaml

    from services.detector.domain.rules import ThresholdRule

    (rule,) = yaml.safe_load(_planned(SILENT)["silent_signal_threshold"].params["change"])
    parsed = ThresholdRule.model_validate(rule)
    assert parsed.breached(52.6) and not parsed.breached(52.5) and parsed.applies_to("demo")
