from __future__ import annotations

import pytest

from services.detector.domain.logmining import Match, MinerConfig, TemplateMiner
from services.detector.domain.logmining.tokens import MAX_TOKENS, mask


def _mine(lines: list[str], miner: TemplateMiner | None = None) -> tuple[TemplateMiner, list[Match]]:
    miner = miner or TemplateMiner()
    return miner, [miner.add(line) for line in lines]


@pytest.mark.parametrize(
    ("line", "template"),
    [
        (
            "Receiving block blk_123 src: /10.0.0.1:50010 dest: /10.0.0.2:50010",
            "Receiving block <*> src: <*> dest: <*>",
        ),
        ("Component state (HWID=1973) changed", "Component state (HWID=<*>) changed"),
        ("node node-246 is up", "node node-<*> is up"),
        ("generating core.5012", "generating core.<*>"),
        ("Loading file /etc/app/config.yaml now", "Loading file <*> now"),
        ("free 58.2 KB, used 3 MB", "free <*>, used <*>"),
        ("ask 10.0.0.1:50010 to delete blk_1 blk_2 blk_3 blk_4", "ask <*> to delete <*>"),
        ("session opened for user root", "session opened for user root"),
    ],
)
def test_masks_value_parts_by_character_class(line: str, template: str) -> None:
    assert TemplateMiner().add(line).template == template


def test_params_fill_the_slots_in_order() -> None:
    match = TemplateMiner().add("Receiving block blk_123 src: /10.0.0.1:50010 dest: /10.0.0.2:50010")
    assert match.params == ("blk_123", "/10.0.0.1:50010", "/10.0.0.2:50010")


def test_same_shape_gets_same_id_and_different_wording_does_not() -> None:
    _, (a, b, c) = _mine(["job 1 finished in 3 ms", "job 22 finished in 41 ms", "job 1 failed in 3 ms"])
    assert a.template_id == b.template_id
    assert a.template_id != c.template_id


def test_rare_words_at_one_position_merge_into_a_slot() -> None:
    users = ["alice", "bob", "carol", "dave", "erin", "frank"]
    miner, matches = _mine([f"session opened for user {u}" for u in users])
    final = {miner.resolve(m.template_id) for m in matches}
    assert len(final) == 1
    assert miner.template_of(final.pop()) == "session opened for user <*>"


def test_merged_ids_resolve_to_the_oldest_template() -> None:
    users = ["alice", "bob", "carol", "dave", "erin"]
    miner, matches = _mine([f"session opened for user {u}" for u in users])
    assert miner.resolve(matches[1].template_id) == matches[0].template_id
    assert miner.add("session opened for user zed").template_id == matches[0].template_id


def test_frequent_words_stay_separate_templates() -> None:
    lines = [f"VM {state} instance {i}" for i in range(20) for state in ("Started", "Paused", "Resumed", "Stopped")]
    lines += [f"VM {state} instance 7" for state in ("Crashed", "Migrated")]
    miner, matches = _mine(lines)
    final = {miner.template_of(miner.resolve(m.template_id)) for m in matches}
    assert {"VM Started instance <*>", "VM Stopped instance <*>"} <= final
    assert "VM <*> instance <*>" not in final


def test_value_slot_absorbs_a_rare_constant_variant() -> None:
    miner, matches = _mine(["domain root_domain is no longer served", "domain d17 is no longer served"])
    assert miner.resolve(matches[0].template_id) == miner.resolve(matches[1].template_id)
    assert miner.template_of(matches[0].template_id) == "domain <*> is no longer served"


def test_bare_values_do_not_swallow_words() -> None:
    _, (a, b) = _mine(["12345", "initialized"])
    assert a.template_id != b.template_id


def test_ids_are_stable_across_processes_and_dumps_loads() -> None:
    lines = [f"user {u} logged in from 10.0.0.{i}" for i, u in enumerate(["ann", "ben", "cat", "dan", "eve"])]
    lines += ["disk sda1 full", "worker 3 restarted after 2 s"]
    first, before = _mine(lines)
    _second, again = _mine(lines)
    assert [m.template_id for m in before] == [m.template_id for m in again]

    restored = TemplateMiner.loads(first.dumps())
    for line, m in zip(lines, before, strict=True):
        assert restored.add(line).template_id == first.resolve(m.template_id)
    assert restored.resolve(before[1].template_id) == first.resolve(before[1].template_id)
    assert len(restored) == len(first)


def test_loads_rejects_unknown_state_version() -> None:
    with pytest.raises(ValueError, match="version"):
        TemplateMiner.loads(b'{"version": 999}')


def test_memory_is_bounded_and_frequent_templates_survive_eviction() -> None:
    miner = TemplateMiner(MinerConfig(max_templates=50, max_cached_lines=100))
    for _ in range(20):
        miner.add("heartbeat ok")

    def word(i: int) -> str:
        return "".join(chr(97 + (i // 26**k) % 26) for k in range(3))

    for i in range(500):  # two words change together, so nothing merges: only eviction bounds it
        miner.add(f"{word(i)} event {word(i + 9000)} happened")
        miner.add("heartbeat ok")
    assert len(miner) <= 50
    assert any(t.template == "heartbeat ok" for t in miner.templates())
    assert len(miner._by_line) <= 100


def test_multiline_message_uses_first_line_for_template() -> None:
    trace = 'Unhandled error in worker 7\nTraceback (most recent call last):\n  File "x.py", line 3'
    match = TemplateMiner().add(trace)
    assert match.template == "Unhandled error in worker <*>"
    assert match.params == ("7",)


def test_very_long_line_is_capped() -> None:
    line = "payload " + " ".join(f"w{i}x" if i % 2 else "word" for i in range(5_000)) + " " + "z" * 100_000
    key = mask(line)
    assert len(key) <= MAX_TOKENS
    match = TemplateMiner().add(line)
    assert len(match.template) < 10_000


def test_replacement_characters_and_empty_messages_are_accepted() -> None:
    miner = TemplateMiner()
    odd = b"bad \xff\xfe bytes in frame 12".decode("utf-8", errors="replace")
    assert miner.add(odd).template == "bad \ufffd\ufffd bytes in frame <*>"
    assert miner.add("").template == ""
    assert miner.add("\n\n").template == ""


@pytest.mark.parametrize(
    ("line", "template"),
    [
        ("[ib_sm_sweep.c:564]: No topology change", "[ib_sm_sweep.c:<*>]: No topology change"),
        ("DHCPDISCOVER from 00:11:43:e3:ba:c3 via eth1", "DHCPDISCOVER from <*> via <*>"),
        ("at 12:30:45 the job ran", "at <*> the job ran"),
        ("I/O error on dev", "I/O error on dev"),
        ("send to msra-sa-41:9000 failed", "send to <*> failed"),
    ],
)
def test_masking_edge_cases(line: str, template: str) -> None:
    assert TemplateMiner().add(line).template == template
