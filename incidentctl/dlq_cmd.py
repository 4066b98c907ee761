"""``incidentctl dlq``: list dead letters with their reasons, show one, re-drive them after a fix.

Dead letters are the original record bytes on ``<topic>.dlq`` with headers ``dlq_reason``,
``dlq_topic``, ``dlq_partition``, ``dlq_offset`` and ``dlq_source``. Re-driving publishes the
original bytes, key and CloudEvents headers to the original topic again. It is idempotent: event
ids are derived from their content, consumers drop ids they processed and services never publish an
id twice, so re-driving an event that was already processed changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from incidentctl.exits import say
from shared.broker import producer_options
from shared.bus import CONTENT_TYPE
from shared.errors import CliError
from shared.events import Event
from shared.replay import read_to_end
from shared.settings import ServiceSettings
from shared.text import clean_line, log_safe
from shared.topics import ALL_TOPICS, Topic

PREVIEW_BYTES: Final = 2000
REDRIVE_HEADERS: Final = ("ce_type", "ce_id")
"""Original headers a dead letter carries that a re-drive restores; the content type comes from ``dlq_content_type``."""


class DlqError(CliError, ValueError):
    """A dead-letter command cannot be carried out (unknown topic, no such offset)."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """Why the record was dead-lettered (one clean line)."""
        return clean_line(self.headers.get("dlq_reason", "(no reason recorded)"), limit=300)

    def original_topic(self, fallback: str) -> str:
        """The topic the record was consumed from (``fallback`` when the header is missing)."""
        return self.headers.get("dlq_topic") or fallback


def dead_letter_topics(names: Sequence[str] = ()) -> list[Topic[Event]]:
    """Return the topics whose dead letters are wanted (all that have one when ``names`` is empty)."""
    with_dlq = [t for t in ALL_TOPICS if t.has_dlq]
    if not names:
        return with_dlq
    by_name = {t.name: t for t in with_dlq} | {t.dlq: t for t in with_dlq}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(t.name for t in with_dlq)
        raise DlqError(say("err_dlq_topic", names=", ".join(map(clean_line, unknown)), known=known))
    return list(dict.fromkeys(by_name[n] for n in names))


async def read_dead_letters(settings: ServiceSettings, topics: Iterable[Topic[Event]]) -> dict[str, list[DeadLetter]]:
    """Read every dead letter now on the topics' dead-letter topics, per original topic name."""
    wanted = {settings.topic_prefix + t.dlq: t for t in topics}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, **settings.kafka_client_options()
    )
    await consumer.start()
    out: dict[str, list[DeadLetter]] = {t.name: [] for t in wanted.values()}
    try:
        existing = await consumer.topics()
        tps = [
            TopicPartition(name, p)
            for name in wanted
            if name in existing
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        async for r in read_to_end(consumer, tps):
            headers = {k: (v or b"").decode("utf-8", "replace") for k, v in r.headers}
            letter = DeadLetter(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value or b"", headers)
            out[wanted[r.topic].name].append(letter)
    finally:
        await consumer.stop()
    return out


def format_list(letters: dict[str, list[DeadLetter]], lang: str | None = None) -> str:
    """One line per topic with its count, then one line per dead letter: offset, age, origin, reason."""
    lines: list[str] = []
    for topic, found in letters.items():
        lines.append(say("dlq_count", lang, topic=topic, count=len(found)))
        for d in found:
            at = datetime.fromtimestamp(d.timestamp_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
            origin = f"{clean_line(d.headers.get('dlq_topic', '?'))}@{d.headers.get('dlq_offset', '?')}"
            lines.append(say("dlq_row", lang, offset=d.offset, at=at, origin=origin, reason=d.reason))
    return "\n".join(lines)


def format_one(letter: DeadLetter, lang: str | None = None) -> str:
    """Headers and an escaped preview of the payload (control and invisible characters shown, not acted on)."""
    lines = [say("dlq_one", lang, topic=letter.topic, partition=letter.partition, offset=letter.offset)]
    lines += [f"  {clean_line(k)}: {log_safe(v)}" for k, v in sorted(letter.headers.items())]
    key = letter.key.decode("utf-8", "backslashreplace") if letter.key is not None else say("dlq_no_key", lang)
    lines.append(say("dlq_key", lang, value=log_safe(key)))
    preview = letter.value[:PREVIEW_BYTES].decode("utf-8", "backslashreplace")
    extra = len(letter.value) - PREVIEW_BYTES
    more = say("dlq_more", lang, count=extra) if extra > 0 else ""
    lines.append(say("dlq_payload", lang, size=len(letter.value), preview=log_safe(preview), more=more))
    return "\n".join(lines)


def pick(letters: Sequence[DeadLetter], offsets: Sequence[int]) -> list[DeadLetter]:
    """Return the dead letters at ``offsets`` (all when empty); raise ``DlqError`` for a missing one."""
    if not offsets:
        return list(letters)
    by_offset = {d.offset: d for d in letters}
    missing = [o for o in offsets if o not in by_offset]
    if missing:
        raise DlqError(say("err_dlq_offset", offsets=", ".join(map(str, missing))))
    return [by_offset[o] for o in offsets]


async def redrive(settings: ServiceSettings, topic: Topic[Event], letters: Sequence[DeadLetter]) -> list[str]:
    """Publish each dead letter's original bytes, key and CloudEvents headers to its original topic."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **await producer_options(settings),
        **settings.kafka_client_options(),
    )
    await producer.start()
    sent: list[str] = []
    try:
        for d in letters:
            target = d.original_topic(settings.topic_prefix + topic.name)
            if target != settings.topic_prefix + topic.name:
                raise DlqError(f"dead letter at offset {d.offset} names another topic: {clean_line(target)}")
            content_type = d.headers.get("dlq_content_type") or CONTENT_TYPE  # every event topic holds CloudEvents
            headers: list[tuple[str, bytes]] = [("content-type", content_type.encode())]
            headers += [(k, d.headers[k].encode()) for k in REDRIVE_HEADERS if k in d.headers]
            headers.append(("dlq_redriven_from", f"{d.topic}@{d.offset}".encode()))
            await producer.send_and_wait(target, d.value, key=d.key, headers=headers)
            sent.append(f"{d.topic}@{d.offset} -> {target}")
    finally:
        await producer.stop()
    return sent


def as_json(letters: dict[str, list[DeadLetter]]) -> str:
    """The dead letters as JSON (payload as text with undecodable bytes escaped)."""
    doc = {
        topic: [
            {"offset": d.offset, "reason": d.reason, "headers": d.headers,
             "payload": d.value.decode("utf-8", "backslashreplace")}
            for d in found
        ]
        for topic, found in letters.items()
    }  # fmt: skip
    return json.dumps(doc, indent=2)
