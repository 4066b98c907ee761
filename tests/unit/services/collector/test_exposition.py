"""Parsing, relabelling and selecting exposition series (Prometheus text format and OpenMetrics)."""

from __future__ import annotations

import pytest

from services.collector.domain.exposition import (
    ExpositionError,
    RelabelRule,
    Series,
    is_openmetrics,
    parse_exposition,
    relabel,
    relabel_one,
    selected,
)

TEXT = """# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 10
http_requests_total{method="GET",status="500"} 2
http_requests_created{method="GET",status="200"} 1.7e9
# TYPE temperature gauge
temperature 21.5
# TYPE lat histogram
lat_bucket{le="0.1"} 3
lat_bucket{le="+Inf"} 4
lat_sum 0.5
lat_count 4
untyped_thing NaN
"""

OPENMETRICS = """# TYPE http_requests counter
http_requests_total{status="200"} 7.0
http_requests_created{status="200"} 1.7e9
# TYPE temperature gauge
temperature 3.0
# EOF
"""


def test_text_format_is_parsed_into_series_with_kind_and_sorted_labels() -> None:
    series = parse_exposition(TEXT, openmetrics=False, max_series=100)
    by_key = {s.key: s for s in series}
    ok = by_key["http_requests_total", (("method", "GET"), ("status", "200"))]
    assert ok.value == 10 and ok.kind == "counter" and ok.cumulative
    assert by_key["temperature", ()].kind == "gauge" and not by_key["temperature", ()].cumulative
    assert by_key["lat_bucket", (("le", "+Inf"),)].cumulative and by_key["lat_sum", ()].cumulative
    assert not any(s.name.endswith("_created") for s in series)  # creation times are not values
    assert "untyped_thing" not in {s.name for s in series}  # NaN is not published


def test_openmetrics_is_parsed_with_its_own_parser() -> None:
    series = parse_exposition(OPENMETRICS, openmetrics=True, max_series=100)
    assert {(s.name, s.value) for s in series} == {("http_requests_total", 7.0), ("temperature", 3.0)}
    with pytest.raises(ExpositionError, match="OpenMetrics"):  # the same without "# EOF" is not OpenMetrics
        parse_exposition(OPENMETRICS.replace("# EOF\n", ""), openmetrics=True, max_series=100)


@pytest.mark.parametrize(
    ("text", "openmetrics"),
    [
        ('metric{a="b} 1\n', False),
        ("metric{a=b} 1\n", False),
        ("metric one\n", False),
        ("# TYPE x counter\nx_total{{{{ 1\n", False),
        ("\x00\x01\x02 garbage \xff\n", False),
        ("x 1\n", True),  # no # EOF
        ("# TYPE x counter\nx_total -1\n# EOF\n", True),  # a negative counter
        ("x" * 100_000 + "{\n", False),
    ],
)
def test_garbled_exposition_is_one_error_with_a_short_reason(text: str, openmetrics: bool) -> None:
    with pytest.raises(ExpositionError) as caught:
        parse_exposition(text, openmetrics=openmetrics, max_series=100)
    assert caught.value.kind == "unparseable" and len(str(caught.value)) < 250


def test_more_series_than_the_limit_is_an_error() -> None:
    text = "".join(f'm{{i="{i}"}} {i}\n' for i in range(50))
    assert len(parse_exposition(text, openmetrics=False, max_series=50)) == 50
    with pytest.raises(ExpositionError) as caught:
        parse_exposition(text, openmetrics=False, max_series=49)
    assert caught.value.kind == "too_many_series"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", True),
        ("Application/OpenMetrics-Text", True),
        ("text/plain; version=0.0.4; charset=utf-8", False),
        ("", False),
    ],
)
def test_openmetrics_is_recognised_by_content_type(content_type: str, expected: bool) -> None:
    assert is_openmetrics(content_type) is expected


S = Series("http_requests_total", (("instance", "a:9"), ("status", "503")), 5.0, "counter")


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], S),
        ([RelabelRule("keep", ("status",), regex="5..")], S),
        ([RelabelRule("keep", ("status",), regex="5")], None),  # anchored: "5" does not match "503"
        ([RelabelRule("drop", ("__name__",), regex="http_.*")], None),
        (
            [RelabelRule("replace", ("status",), regex="(.)..", target_label="class", replacement="${1}xx")],
            Series(S.name, (("class", "5xx"), *S.labels), 5.0, "counter"),
        ),
        (
            [RelabelRule("replace", ("__name__",), regex="http_(.*)", target_label="__name__", replacement="web_$1")],
            Series("web_requests_total", S.labels, 5.0, "counter"),
        ),
        (
            [RelabelRule("replace", ("instance",), regex="([^:]+):.*", target_label="host")],
            Series(S.name, (("host", "a"), *S.labels), 5.0, "counter"),
        ),
        (
            [RelabelRule("replace", ("nothing",), regex="", target_label="instance", replacement="")],
            Series(S.name, (("status", "503"),), 5.0, "counter"),  # an empty result removes the label
        ),
        ([RelabelRule("replace", ("status",), target_label="x", replacement="$7$name")], S),  # missing groups: empty
        ([RelabelRule("labeldrop", regex="inst.*")], Series(S.name, (("status", "503"),), 5.0, "counter")),
        ([RelabelRule("labelkeep", regex="inst.*")], Series(S.name, (("instance", "a:9"),), 5.0, "counter")),
        ([RelabelRule("replace", regex=".*", target_label="__name__", replacement="")], None),  # lost its name
    ],
)
def test_relabelling_follows_prometheus(rules: list[RelabelRule], expected: Series | None) -> None:
    assert relabel_one(S, rules) == expected


def test_relabel_leaves_out_dropped_series_and_selection_matches_whole_names() -> None:
    other = Series("temperature", (), 1.0, "gauge")
    assert relabel([S, other], [RelabelRule("drop", ("__name__",), regex="temp.*")]) == (S,)
    assert list(selected([S, other], ["temp"])) == []
    assert list(selected([S, other], ["temp.*", "nothing"])) == [other]
