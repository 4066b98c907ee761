"""The AsyncAPI document: generated from the code, committed, valid AsyncAPI 3.0, and true to the services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from services.responder.api.feed import FEED_TOPICS
from shared import events as ev
from shared.asyncapi import BROADCAST, CONSUMERS, GROUP, READ_MODEL, document, render
from shared.runtime import Runtime
from shared.topics import ALL_TOPICS
from tests.fuzz_records import seed_document
from tests.unit.shared.test_runtime import BUILDS

ROOT = Path(__file__).parents[3]
COMMITTED = ROOT / "docs" / "asyncapi.json"
# The official AsyncAPI 3.0.0 JSON Schema, vendored: provenance and licence in tests/data/asyncapi/README.md.
SPEC_SCHEMA = ROOT / "tests" / "data" / "asyncapi" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


@pytest.fixture(scope="module")
def spec() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(json.loads(SPEC_SCHEMA.read_text(encoding="utf-8")))


def test_the_committed_document_is_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is stale: run `incidentctl asyncapi --out docs/asyncapi.json` and commit it"
    )


def test_the_document_is_valid_asyncapi_3(doc: dict[str, Any], spec: jsonschema_rs.Validator) -> None:
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message[:200]}" for e in spec.iter_errors(doc)]
    assert errors == []


def test_the_validator_refuses_what_asyncapi_3_does_not_allow(
    doc: dict[str, Any], spec: jsonschema_rs.Validator
) -> None:
    old_style = json.loads(json.dumps(doc))
    next(iter(old_style["operations"].values()))["action"] = "publish"  # AsyncAPI 2's verb
    assert not spec.is_valid(old_style)
    no_address = json.loads(json.dumps(doc))
    next(iter(no_address["channels"].values()))["address"] = 42
    assert not spec.is_valid(no_address)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs = _refs(doc)
    assert len(refs) > 100
    for ref in refs:
        assert ref.startswith("#/"), ref
        _resolve(doc, ref)  # KeyError names the broken one


def test_an_operation_names_only_messages_of_its_channel(doc: dict[str, Any]) -> None:
    for name, op in doc["operations"].items():
        channel = op["channel"]["$ref"]
        assert op["messages"], name
        assert all(m["$ref"].startswith(channel + "/messages/") for m in op["messages"]), name


def test_every_topic_is_a_channel_with_its_events_key_and_dead_letters(doc: dict[str, Any]) -> None:
    by_address = {c["address"]: c for c in doc["channels"].values()}
    for topic in ALL_TOPICS:
        channel = by_address[topic.name]
        kafka = channel["bindings"]["kafka"]
        assert (kafka["topic"], kafka["partitions"]) == (topic.name, topic.partitions)
        assert kafka["topicConfiguration"]["cleanup.policy"] == ["compact" if topic.compacted else "delete"]
        messages = [_resolve(doc, m["$ref"]) for m in channel["messages"].values()]
        if topic.events:
            assert [m["title"] for m in messages] == [cls.__name__ for cls in topic.events]
        for message in messages:
            assert topic.key in message["bindings"]["kafka"]["key"]["description"] or not topic.events
            assert message["headers"]["properties"]["content-type"]["const"] == message["contentType"]
        assert (topic.dlq in by_address) == topic.has_dlq
        if topic.has_dlq:
            (dead,) = by_address[topic.dlq]["messages"].values()
            assert "dlq_reason" in _resolve(doc, dead["$ref"])["headers"]["required"]


@pytest.mark.parametrize("cls", ev.ALL_EVENTS, ids=lambda c: c.__name__)
def test_payload_schemas_accept_real_events_and_refuse_broken_ones(doc: dict[str, Any], cls: type[ev.Event]) -> None:
    message = doc["components"]["messages"][cls.__name__]
    assert message["name"] == cls.event_type.removeprefix(ev.TYPE_PREFIX)
    assert message["correlationId"]["location"] == "$message.payload#/correlationid"
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": message["payload"]["$ref"],
        "components": {"schemas": doc["components"]["schemas"]},
    }
    validator = jsonschema_rs.validator_for(schema)
    event = json.loads(seed_document(cls))
    assert validator.is_valid(event), list(validator.iter_errors(event))[:3]
    other = next(e for e in ev.ALL_EVENTS if e is not cls)
    assert not validator.is_valid({**event, "type": other.event_type})
    assert not validator.is_valid({k: v for k, v in event.items() if k != "id"})
    assert not validator.is_valid({**event, "data": {}})


def _receivers(doc: dict[str, Any], address: str) -> set[tuple[str, str]]:
    """(service, how) of every receive operation of the channel at ``address``."""
    found = set()
    for op in doc["operations"].values():
        if op["action"] == "receive" and _resolve(doc, op["channel"]["$ref"])["address"] == address:
            found.add((op["x-service"], op["summary"].rsplit("(", 1)[1].rstrip(").")))
    return found


def test_declared_consumers_are_the_subscriptions_each_service_makes(doc: dict[str, Any]) -> None:
    """The consumer groups in the document are those the services' composition roots subscribe."""
    subscribed: set[tuple[str, str, str]] = set()
    for name, (build, settings_cls) in BUILDS.items():
        settings = settings_cls(kafka_bootstrap_servers="127.0.0.1:1")
        runtime: Runtime = build(settings)
        for member in runtime.service.bus.members:
            how = BROADCAST if settings.instance_id in member.group_id else GROUP
            subscribed.add((member.topic, name, how))
    declared = {(topic, c.service, c.how) for topic, cs in CONSUMERS.items() for c in cs if c.how in (GROUP, BROADCAST)}
    assert declared == subscribed
    read_model = {topic for topic, cs in CONSUMERS.items() for c in cs if c.how == READ_MODEL}
    assert read_model == {t.name for t in FEED_TOPICS}
    assert set(CONSUMERS) == {t.name for t in ALL_TOPICS}
    for topic, consumers in CONSUMERS.items():
        assert _receivers(doc, topic) == {(c.service, c.how) for c in consumers}


def test_every_producer_sends_and_every_consumer_group_dead_letters(doc: dict[str, Any]) -> None:
    sends = {
        (op["x-service"], _resolve(doc, op["channel"]["$ref"])["address"])
        for op in doc["operations"].values()
        if op["action"] == "send"
    }
    assert ("detector", "detector.anomalies.v1") in sends and ("collector", "collector.metrics.v1") in sends
    assert ("detector", "detector.state.v1") in sends
    for topic in ALL_TOPICS:
        if topic.has_dlq:
            groups = {c.service for c in CONSUMERS[topic.name] if c.how in (GROUP, BROADCAST)}
            assert {s for s, address in sends if address == topic.dlq} == groups
