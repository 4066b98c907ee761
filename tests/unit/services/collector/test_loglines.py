from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.collector.domain.loglines import (
    LogLine,
    LogRecord,
    MultilineGrouper,
    parse_level,
    parse_timestamp,
    starts_record,
    strip_header,
)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("2026-11-25 07:00:00,123 INFO demo [MainThread] listening", "INFO"),
        ("2026-11-25 07:00:00,123 ERROR demo [Thread-3] Payment backend unavailable", "ERROR"),
        ("2026-11-25 07:00:00,123 WARNING demo [x] slow", "WARNING"),
        ("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:2181:FastLeaderElection@774] - x", "INFO"),
        ("17/06/09 20:10:40 WARN spark.SecurityManager: Changing view acls", "WARNING"),
        ("- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02 RAS KERNEL FATAL x", "CRITICAL"),
        ('{"time": "2026-11-25T07:00:00Z", "level": "error", "msg": "boom"}', "ERROR"),
        ("ts=2026-11-25T07:00:00Z level=warn msg=disk", "WARNING"),
        ("[2026-11-25 07:00:00] [error] [client 1.2.3.4] File does not exist", "ERROR"),
        ("2026-11-25 07:00:00 INFO no error here, all fine", "INFO"),
        ("just some text without a level, error inside the message", "UNKNOWN"),
        ("", "UNKNOWN"),
    ],
)
def test_parse_level(line: str, level: str) -> None:
    assert parse_level(line) == level


@pytest.mark.parametrize(
    ("line", "body"),
    [
        ("2026-11-29 08:58:10,252 WARNING demo [cpu-hog] cpu-hog started", "demo [cpu-hog] cpu-hog started"),
        ("2026-11-25T07:00:01.123Z [error] boom", "boom"),
        ("[2026-11-25 07:00:01] INFO: listening", "listening"),
        ("2026-11-25 07:00:01 +0200 | WARN | disk low", "disk low"),
        ("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]] - x", "[QuorumPeer[myid=1]] - x"),
        ("Nov 25 07:00:00 host sshd[12]: accepted", "host sshd[12]: accepted"),
        ("2026-11-25 07:00:01 request ERROR in body stays", "request ERROR in body stays"),
        ("no header ERROR here", "no header ERROR here"),
        ("", ""),
    ],
)
def test_strip_header_keeps_the_message(line: str, body: str) -> None:
    assert strip_header(line) == body


def test_record_body_strips_only_the_first_line() -> None:
    record = LogRecord(("2026-11-25 07:00:01,000 ERROR demo boom", "Traceback (most recent call last):"), 0, 10)
    assert record.body == "demo boom\nTraceback (most recent call last):"


def test_parse_timestamp_naive_is_utc_and_zones_convert() -> None:
    assert parse_timestamp("2026-11-25 07:00:00,123 INFO x") == datetime(2026, 11, 25, 7, 0, 0, 123000, tzinfo=UTC)
    assert parse_timestamp("2026-11-25T08:00:00.5+01:00 x") == datetime(2026, 11, 25, 7, 0, 0, 500000, tzinfo=UTC)
    assert parse_timestamp("[2026-11-25T07:00:00Z] x") == datetime(2026, 11, 25, 7, tzinfo=UTC)
    assert parse_timestamp("Nov 25 07:00:00 host x") is None
    assert parse_timestamp("2026-13-45 07:00:00 bad date") is None
    assert UTC == UTC and timedelta(0) == timedelta()


@pytest.mark.parametrize(
    ("line", "starts"),
    [
        ("2026-11-25 07:00:00,123 INFO x", True),
        ("Nov 25 07:00:00 host sshd[1]: x", True),
        ("plain line of an unknown format", True),
        ("Traceback (most recent call last):", False),
        ('  File "app.py", line 3, in f', False),
        ("\tat com.example.Foo.bar(Foo.java:10)", False),
        ("java.lang.IllegalStateException: boom", False),
        ("Caused by: java.io.IOException: disk", False),
        ("\t... 12 more", False),
        ("ValueError: bad", False),
        ("", False),
    ],
)
def test_starts_record(line: str, starts: bool) -> None:
    assert starts_record(line) is starts


def feed_all(texts: list[str], grouper: MultilineGrouper | None = None) -> tuple[list[LogRecord], MultilineGrouper]:
    g = grouper or MultilineGrouper()
    out: list[LogRecord] = []
    pos = 0
    for t in texts:
        size = len(t.encode()) + 1
        out += g.feed(LogLine(t, pos, pos + size), now=0.0)
        pos += size
    return out, g


PY_TRACE = [
    "2026-11-25 07:00:01,000 ERROR demo [T] Payment backend unavailable: upstream returned 503 (order=1)",
    "Traceback (most recent call last):",
    '  File "/app/demo.py", line 98, in pay',
    "    backend(order)",
    "UpstreamUnavailable: upstream returned 503 for order 1",
]


def test_python_traceback_with_any_exception_name_is_one_record() -> None:
    lines = ["2026-11-25 07:00:00,000 INFO demo [T] GET / 200", *PY_TRACE, "2026-11-25 07:00:02,000 INFO demo [T] ok"]
    done, g = feed_all(lines)
    assert [len(r.lines) for r in done] == [1, 5]
    assert done[1].message == "\n".join(PY_TRACE)
    assert g.pending
    assert [r.lines for r in g.flush_all()] == [(lines[-1],)]


def test_chained_python_traceback_stays_together() -> None:
    chained = [
        *PY_TRACE,
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/app/demo.py", line 9, in run',
        "RuntimeError: checkout failed",
    ]
    done, _g = feed_all([*chained, "2026-11-25 07:00:03,000 INFO demo [T] next"])
    assert len(done) == 1 and done[0].lines == tuple(chained)


def test_java_stack_trace_is_one_record() -> None:
    java = [
        "2026-11-25 07:00:00,000 ERROR [main] c.e.Service - request failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.example.Service.run(Service.java:10)",
        "Caused by: java.io.IOException: disk",
        "\t... 3 more",
    ]
    done, _ = feed_all([*java, "2026-11-25 07:00:01,000 INFO [main] ok"])
    assert done[0].lines == tuple(java)


def test_unknown_format_gives_one_record_per_line() -> None:
    done, g = feed_all(["alpha one", "beta two", "gamma three"])
    assert [r.lines for r in [*done, *g.flush_all()]] == [("alpha one",), ("beta two",), ("gamma three",)]


def test_record_byte_span_covers_its_lines() -> None:
    done, g = feed_all(["2026-11-25 07:00:00 INFO a", "  more", "2026-11-25 07:00:01 INFO b"])
    first = done[0]
    assert (first.start, first.end) == (0, len("2026-11-25 07:00:00 INFO a\n  more\n"))
    second = g.flush_all()[0]
    assert second.start == first.end


def test_idle_flush_waits_for_the_trace_to_finish() -> None:
    g = MultilineGrouper()
    g.feed(LogLine(PY_TRACE[0], 0, 10), now=100.0)
    g.feed(LogLine(PY_TRACE[1], 10, 20), now=100.5)
    assert g.flush(now=101.0, idle_s=1.0) == []
    flushed = g.flush(now=101.5, idle_s=1.0)
    assert len(flushed) == 1 and len(flushed[0].lines) == 2
    assert not g.pending


def test_max_lines_caps_a_record() -> None:
    done, g = feed_all(["2026-11-25 07:00:00 ERROR x", *(["  frame"] * 9)], MultilineGrouper(max_lines=4))
    assert [len(r.lines) for r in [*done, *g.flush_all()]] == [4, 4, 2]
