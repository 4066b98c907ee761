from __future__ import annotations

import numpy as np
import pytest

from services.rca.domain import LogLine, MaskingMiner, MetricFrame, RcaError
from services.rca.domain.log_evidence import find_log_evidence
from services.rca.domain.metric_score import running_median3
from services.rca.domain.signals import MetricKind, bad_direction, classify_metric


@pytest.mark.parametrize(
    ("metric", "kind"),
    [
        ("latency_p99", MetricKind.LATENCY),
        ("http_request_duration_seconds", MetricKind.LATENCY),
        ("availability_Average", MetricKind.SUCCESS_SHARE),
        ("error_rate", MetricKind.ERRORS),
        ("5xxCount", MetricKind.ERRORS),
        ("cpu_usage", MetricKind.SATURATION),
        ("memoryUtilization", MetricKind.SATURATION),
        ("requests_Sum", MetricKind.TRAFFIC),
        ("workload", MetricKind.TRAFFIC),
        ("value", MetricKind.OTHER),
        ("process.up", MetricKind.SUCCESS_SHARE),
        ("http.up", MetricKind.SUCCESS_SHARE),
        ("upstream_latency", MetricKind.LATENCY),
        ("backup_size", MetricKind.OTHER),
    ],
)
def test_classify_metric(metric: str, kind: MetricKind) -> None:
    assert classify_metric(metric) is kind


def test_bad_direction() -> None:
    assert bad_direction(MetricKind.SUCCESS_SHARE) == -1
    assert bad_direction(MetricKind.LATENCY) == 1
    assert bad_direction(MetricKind.TRAFFIC) == 0


def test_running_median_removes_lone_spike_and_keeps_gaps() -> None:
    values = np.array([1.0, 1.0, 50.0, 1.0, np.nan, np.nan, np.nan, 2.0])
    out = running_median3(values)
    assert out[2] == 1.0
    assert np.isnan(out[5])
    assert out[7] == 2.0


def test_masking_miner_groups_lines_that_differ_in_variables() -> None:
    miner = MaskingMiner()
    a = miner.template_of("Timeout after 3000 ms calling 10.0.0.12:8080 for order 9f3a2b7c")
    b = miner.template_of("Timeout after 250 ms calling 10.0.0.7:80 for order 77aa01ff")
    assert a == b
    assert "Timeout after" in a


def test_log_evidence_prefers_new_error_templates() -> None:
    logs = [LogLine(100.0 + i, "api", f"served request {i}") for i in range(30)]
    logs += [LogLine(200.0 + i, "api", f"served request {i}") for i in range(10)]
    logs += [LogLine(205.0, "db", "connection refused by 10.1.1.1:5432")]
    logs += [LogLine(206.0, "db", "connection refused by 10.1.1.2:5432")]
    found = find_log_evidence(logs, incident_start=200.0, window_end=300.0)
    assert set(found) == {"db"}
    assert found["db"].is_error and found["db"].is_new and found["db"].count == 2
    assert found["db"].first_seen == 205.0


def test_metric_frame_rejects_bad_shapes() -> None:
    with pytest.raises(RcaError, match="ascending"):
        MetricFrame.build([2.0, 1.0], {"a|x": [1.0, 2.0]})
    with pytest.raises(RcaError, match="1 values for 2 timestamps"):
        MetricFrame.build([1.0, 2.0], {"a|x": [1.0]})


def test_lines_already_vetted_elsewhere_are_not_doubted_for_lack_of_history() -> None:
    lines = [LogLine(ts=100.0 + i, entity="api", message="ERROR pool exhausted, 20 waiting") for i in range(4)]
    alone = find_log_evidence(lines, incident_start=100.0, window_end=200.0)["api"]
    vetted = find_log_evidence(lines, incident_start=100.0, window_end=200.0, vetted_s=600.0)["api"]
    assert alone.is_new and alone.is_error
    assert vetted.score == pytest.approx(2 * alone.score)
