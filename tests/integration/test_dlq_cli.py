"""``incidentctl dlq list|show|redrive`` against a real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer

from incidentctl.__main__ import main
from shared.events import encode_event
from shared.replay import replay
from shared.settings import ServiceSettings
from shared.topic_admin import ensure_topics
from shared.topics import ANOMALIES
from tests.factories import anomaly

pytestmark = pytest.mark.integration

HOSTILE = b'{"type": "dev.incidentctl.anomaly.detected", "summary": "\x1b[31mred\x1b[0m\nConsole: http://evil"}'


async def _seed(settings: ServiceSettings, valid: bytes) -> None:
    await ensure_topics(settings, [ANOMALIES])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        original = settings.topic_prefix + ANOMALIES.name
        letters = [
            (valid, "handler failed 3x: bug fixed since"),
            (HOSTILE, "invalid event: data: Field required\nfake line"),
        ]
        for offset, (value, reason) in enumerate(letters):
            headers = [("dlq_reason", reason.encode()), ("dlq_topic", original.encode()),
                       ("dlq_partition", b"0"), ("dlq_offset", str(offset).encode()), ("dlq_source", b"/tests"),
                       ("ce_id", b"x"), ("bad", b"\xff\xfe")]  # fmt: skip
            await producer.send_and_wait(settings.topic_prefix + ANOMALIES.dlq, value, key=b"demo", headers=headers)
    finally:
        await producer.stop()


async def _ids_on(settings: ServiceSettings) -> list[str]:
    return [e.id async for _, e in replay(settings, [settings.topic_prefix + ANOMALIES.name])]


def test_list_show_and_redrive(
    kafka_bootstrap: str, unique: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOPIC_PREFIX", f"t{unique}.")
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    event = anomaly(t=0)
    asyncio.run(_seed(settings, encode_event(event)))
    cli = ["dlq", "--bootstrap", kafka_bootstrap]

    assert main([*cli, "list", ANOMALIES.name]) == 0
    listed = capsys.readouterr().out
    assert f"{ANOMALIES.name}.dlq: 2 dead letter(s)" in listed and "bug fixed since" in listed
    assert "\x1b" not in listed and "\nfake line" not in listed and "Field required fake line" in listed

    assert main([*cli, "show", ANOMALIES.name, "1"]) == 0
    shown = capsys.readouterr().out
    assert "\\x1b[31mred" in shown and "\x1b" not in shown and "\\nConsole" in shown
    assert "dlq_reason" in shown and "\n  bad: " in shown

    assert main([*cli, "redrive", ANOMALIES.name, "--offset", "0"]) == 0
    assert "1 dead letter(s) re-driven" in capsys.readouterr().out
    assert main([*cli, "redrive", ANOMALIES.dlq, "--offset", "0"]) == 0  # twice: the same event id again
    capsys.readouterr()
    assert asyncio.run(_ids_on(settings)) == [event.id, event.id]  # consumers drop the repeated id


def test_errors_are_one_line(kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "--bootstrap", kafka_bootstrap, "show", "no.such.topic", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no dead-letter topic for no.such.topic" in err and "Traceback" not in err
    assert main(["dlq", "--bootstrap", kafka_bootstrap, "show", ANOMALIES.name, "999999"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no dead letter at offset" in err
