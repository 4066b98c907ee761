"""The AsyncAPI 3.0 document of the event contract, generated from the topic registry and the event models.

Channels are the topics of ``shared.topics`` and their dead-letter topics; messages are the event classes of
``shared.events`` (payload schemas from the pydantic models, the CloudEvents structured-mode envelope, the
record headers and the record key); operations say which service sends and which receives each topic.
``incidentctl asyncapi`` writes it to ``docs/asyncapi.json``; the responder serves it at ``/asyncapi.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from pydantic.json_schema import models_json_schema

from shared import events as ev
from shared.bus import CONTENT_TYPE
from shared.topics import ALL_TOPICS, DETECTOR_STATE, Topic

ASYNCAPI_VERSION: Final = "3.0.0"
KAFKA_BINDING: Final = "0.5.0"
OCTET_STREAM: Final = "application/octet-stream"
SCHEMAS: Final = "#/components/schemas/"


@dataclass(frozen=True, slots=True)
class Consumer:
    """Who reads a topic, and how (``group``: one consumer group shared by the service's instances)."""

    service: str
    how: str = "group"


GROUP: Final = "group"
BROADCAST: Final = "broadcast"
"""A consumer group per instance (named after it): every instance sees every record."""
READ_MODEL: Final = "read model"
"""No consumer group: the responder's HTTP API reads the topic to its end and follows it (skips bad records)."""
RESTORE: Final = "restore"
"""No consumer group: the detector reads its assigned partitions to their end on assignment."""
REBUILD: Final = "rebuild"
"""No consumer group: the service reads the whole topic to its end at start, to rebuild what it remembers."""
LISTING: Final = "listing"
"""No consumer group: a CLI command reads the topic to its end and prints it."""

_API_FEED: Final = Consumer("responder", READ_MODEL)
CONSUMERS: Final[dict[str, tuple[Consumer, ...]]] = {
    "collector.metrics.v1": (Consumer("detector"), Consumer("recovery", BROADCAST), Consumer("rca", BROADCAST)),
    "detector.anomalies.v1": (Consumer("responder"), Consumer("rca", BROADCAST), _API_FEED),
    "responder.incidents.v1": (
        Consumer("collector"),
        Consumer("responder", BROADCAST),
        Consumer("recovery"),
        Consumer("rca"),
        _API_FEED,
    ),
    "responder.notifications.v1": (Consumer("responder", BROADCAST), _API_FEED),
    "responder.commands.v1": (Consumer("responder"), Consumer("rca"), Consumer("recovery", BROADCAST), _API_FEED),
    "responder.silences.v1": (Consumer("responder", BROADCAST), _API_FEED),
    "recovery.actions.v1": (Consumer("collector"), Consumer("responder"), Consumer("rca"), _API_FEED),
    "rca.results.v1": (_API_FEED, Consumer("rca", REBUILD)),
    "rca.actions.v1": (Consumer("rca", REBUILD), Consumer("incidentctl actions", LISTING)),
    "chaos.faults.v1": (_API_FEED,),
    "ops.heartbeats.v1": (Consumer("collector"),),
    "detector.state.v1": (Consumer("detector", RESTORE),),
}
"""Every reader of every topic (``tests/unit/shared/test_asyncapi.py`` checks it against each service's build)."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _producers(topic: Topic[ev.Event]) -> list[str]:
    return [p.strip() for p in topic.producer.split(",")]


def _schemas() -> dict[str, Any]:
    """JSON Schemas of every event class and what it contains, referenced as ``#/components/schemas/<name>``.

    A payload model named like its event class (``MetricsObserved``) becomes ``<name>Data``.
    """
    _, top = models_json_schema([(cls, "serialization") for cls in ev.ALL_EVENTS], ref_template=SCHEMAS + "{model}")
    defs: dict[str, Any] = top["$defs"]
    renames: dict[str, str] = {}
    for name in defs:
        if name.startswith("shared__events__"):
            renames[name] = name.removeprefix("shared__events__")
        elif name.startswith("shared__models__"):
            renames[name] = name.removeprefix("shared__models__") + "Data"
    text = json.dumps(defs)
    for old, new in renames.items():
        text = text.replace(f'"{SCHEMAS}{old}"', f'"{SCHEMAS}{new}"')
    renamed: dict[str, Any] = {renames.get(k, k): v for k, v in json.loads(text).items()}
    return dict(sorted(renamed.items()))


def _event_message(topic: Topic[ev.Event], cls: type[ev.Event]) -> dict[str, Any]:
    return {
        "name": cls.event_type.removeprefix(ev.TYPE_PREFIX),
        "title": cls.__name__,
        "summary": (cls.__doc__ or "").strip().splitlines()[0],
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "required": ["content-type", "ce_type", "ce_id"],
            "properties": {
                "content-type": {"type": "string", "const": CONTENT_TYPE},
                "ce_type": {"type": "string", "const": cls.event_type, "description": "The event's `type`."},
                "ce_id": {"type": "string", "description": "The event's `id`."},
            },
        },
        "payload": {"$ref": SCHEMAS + cls.__name__},
        "correlationId": {
            "description": "The incident the event belongs to (CloudEvents extension `correlationid`).",
            "location": "$message.payload#/correlationid",
        },
        "bindings": {"kafka": {"key": _key(topic), "bindingVersion": KAFKA_BINDING}},
    }


def _key(topic: Topic[ev.Event]) -> dict[str, Any]:
    return {"type": "string", "description": f"Record key: {topic.key} (it picks the partition)."}


def _dead_letter_message() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "name": "dead-letter",
        "title": "Dead letter",
        "summary": "A record a consumer could not process: its original bytes and key, with the reason.",
        "description": (
            "Written by the consumer group that gave up on the record (schema or edge check failed, or the "
            "handler failed 3 times or rejected it). `incidentctl dlq` lists, shows and re-drives them."
        ),
        "contentType": OCTET_STREAM,
        "headers": {
            "type": "object",
            "required": ["content-type", "dlq_reason", "dlq_topic", "dlq_partition", "dlq_offset", "dlq_source"],
            "properties": {
                "content-type": {"type": "string", "const": OCTET_STREAM},
                "dlq_reason": {**text, "maxLength": 2000, "description": "Why, without control characters."},
                "dlq_topic": {**text, "description": "Topic the record was read from."},
                "dlq_partition": {**text, "pattern": "^[0-9]+$"},
                "dlq_offset": {**text, "pattern": "^[0-9]+$"},
                "dlq_source": {**text, "description": "CloudEvents source of the service that gave up."},
                "dlq_content_type": {**text, "description": "The original's content-type (a re-drive restores it)."},
                "ce_type": {**text, "description": "The original record's `ce_type` header."},
                "ce_id": {**text, "description": "The original record's `ce_id` header."},
                "dlq_truncated_from": {
                    **text,
                    "pattern": "^[0-9]+$",
                    "description": "Original size in bytes, when only a prefix is kept (over 900,000 bytes).",
                },
            },
        },
        "payload": {"type": "string", "format": "binary", "description": "The original record value."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record key."},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _state_message() -> dict[str, Any]:
    return {
        "name": "detector-checkpoint",
        "title": "Detector checkpoint",
        "summary": "The latest detector state of one target (or of the log loop); an empty value deletes the key.",
        "description": (
            "Binary, not CloudEvents: zlib over positional JSON plus one float64 block for all series "
            "(`services/detector/domain/checkpoint.py`, format 2). Partitioned like the metrics topic."
        ),
        "contentType": OCTET_STREAM,
        "headers": {
            "type": "object",
            "required": ["content-type"],
            "properties": {"content-type": {"type": "string", "const": OCTET_STREAM}},
        },
        "payload": {"type": "string", "format": "binary"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "`target:<name>`, or `logs:state` for the log loop."},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _channel(topic: Topic[ev.Event], messages: list[str], *, address: str, doc: str, dlq: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"cleanup.policy": ["compact" if topic.compacted and not dlq else "delete"]}
    if not dlq:
        config["retention.ms"] = topic.retention_ms
    return {
        "address": address,
        "title": address,
        "description": doc,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
        "bindings": {
            "kafka": {
                "topic": address,
                "partitions": 1 if dlq else topic.partitions,
                "topicConfiguration": config,
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _operation(action: str, service: str, channel: str, messages: list[str], summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in messages],
        "x-service": service,
    }


def document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of every topic of the contract (deterministic: same code, same bytes)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in ALL_TOPICS:
        cid = _slug(topic.name)
        if topic is DETECTOR_STATE:
            names = ["DetectorCheckpoint"]
            messages["DetectorCheckpoint"] = _state_message()
        else:
            names = [cls.__name__ for cls in topic.events]
            messages.update({cls.__name__: _event_message(topic, cls) for cls in topic.events})
        channels[cid] = _channel(topic, names, address=topic.name, doc=topic.doc, dlq=False)
        for producer in _producers(topic):
            operations[f"{_slug(producer)}__send__{cid}"] = _operation(
                "send", producer, cid, names, f"{producer} publishes on {topic.name}."
            )
        for consumer in CONSUMERS[topic.name]:
            reader = consumer.service if consumer.how == GROUP else f"{consumer.service} {consumer.how}"
            operations[f"{_slug(reader)}__receive__{cid}"] = _operation(
                "receive", consumer.service, cid, names, f"{consumer.service} reads {topic.name} ({consumer.how})."
            )
        if topic.has_dlq:
            dlq_id = f"{cid}_dlq"
            doc = f"Dead letters of the consumer groups of {topic.name}: original bytes, key and the reason."
            channels[dlq_id] = _channel(topic, ["DeadLetter"], address=topic.dlq, doc=doc, dlq=True)
            for consumer in CONSUMERS[topic.name]:
                if consumer.how in (GROUP, BROADCAST):
                    summary = f"{consumer.service} dead-letters {topic.name}."
                    operations[f"{_slug(consumer.service)}__send__{dlq_id}"] = _operation(
                        "send", consumer.service, dlq_id, ["DeadLetter"], summary
                    )
            operations[f"incidentctl_dlq__receive__{dlq_id}"] = _operation(
                "receive", "incidentctl dlq", dlq_id, ["DeadLetter"], "Operators list, show and re-drive dead letters."
            )
    messages["DeadLetter"] = _dead_letter_message()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:dev.incidentctl:events",
        "info": {
            "title": "incidentctl event contract",
            "version": f"{ev.SCHEMA_VERSION}.0.0",
            "description": (
                "Every Kafka topic of the incident-response services. Events are CloudEvents 1.0 in structured "
                "mode (`application/cloudevents+json`): the envelope attributes with the payload in `data`; "
                "`correlationid` names the incident, `causationid` the event that caused this one. Ids are "
                "derived from the event's inputs, so a redelivered input yields the same id (consumers "
                "deduplicate by id). Generated from `shared/topics.py` and `shared/events.py` by "
                "`incidentctl asyncapi`."
            ),
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "Any Kafka-protocol broker (`KAFKA_BOOTSTRAP_SERVERS`); names get `TOPIC_PREFIX`.",
            }
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": dict(sorted(messages.items())), "schemas": _schemas()},
    }


def render() -> str:
    """The document as committed in ``docs/asyncapi.json``."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
