"""The speed-ups (token shortcuts, one-pass collapse, candidate index, caches) change no result."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from services.detector.domain.logmining import TemplateMiner
from services.detector.domain.logmining.index import Bucket
from services.detector.domain.logmining.matching import Pattern, Template, token_class
from services.detector.domain.logmining.tokens import _VALUE, WILDCARD, mask, mask_token

STATE_V1 = Path(__file__).parent / "data" / "miner_state_v1.json"

# The two rules `_COLLAPSE` applies in one pass, written as they were applied before: units, then neighbours.
_SIZE_UNIT = re.compile(r"<\*>(?<!\S<\*>)\s+(?i:b|kb|mb|gb|tb|pb|kib|mib|gib|tib)(?=[,;:.)\]}]*(?!\S))")
_NEIGHBOUR_VALUES = re.compile(r"<\*>(?:\s+<\*>)+")


def _reference_key(line: str) -> tuple[str, ...]:
    joined = " ".join(_VALUE.sub(WILDCARD, t) for t in line.split())
    return tuple(_NEIGHBOUR_VALUES.sub(WILDCARD, _SIZE_UNIT.sub(WILDCARD, joined)).split())


@pytest.mark.parametrize(
    "token",
    [
        "Receiving", "error,", "I/O", "(pam_unix)", "deadbeefdeadbeef", "deadbeefdeadbee", "0", "blk_-123",
        "0a0b-11", "[12]", "(HWID=1973)", "node-12", "core.3", "ab..12", "req-0a0b-12", "ab-c0x", "ab--0",
        "/etc/x", "./x", "a/b/c", "~/y", "12:30:45", "00:11:43:e3:ba:c3", "host:80", "x=1,y=2", "\u0663",
        "a\u0663b", "\u00e9t\u00e9", "<*>", "<*>1", "0x1f,", "'17'", "KB", "12KB",
    ],
)  # fmt: skip
def test_token_shortcuts_agree_with_the_full_expression(token: str) -> None:
    assert mask_token(token) == _VALUE.sub(WILDCARD, token)


def test_token_shortcuts_agree_on_random_tokens() -> None:
    rng = random.Random(11)
    alphabet = [*"0123456789abcdefXYZxyz_-.:/~[](){}<>=,;\"'|*#@", "\u0663", "\u00e9", "<*>", "ab", ".."]
    for _ in range(20_000):
        token = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20)))
        assert mask_token(token) == _VALUE.sub(WILDCARD, token), token


@pytest.mark.parametrize(
    "line",
    [
        "free 58.2 KB, used 3 MB",
        "sizes 1 KB 2 MB 3 GB left",
        "got 3 kb, then 4 b",
        "x1 KB is not a size",
        "ask 10.0.0.1:50010 to delete blk_1 blk_2 blk_3",
        "a=1 2=b and 3 4 KB) done",
        "memory 12 MB, disk 3 GB, vcpus 2 CPU",
        "value 12 KBx and 12 KB",
    ],
)
def test_one_pass_collapse_equals_units_then_neighbours(line: str) -> None:
    assert mask(line) == _reference_key(line)


def _all_fits(bucket: Bucket, key: tuple[str, ...]) -> set[str]:
    return {t.template_id for t in bucket if t.pattern.fits(key)}


def test_index_finds_exactly_the_templates_a_key_fits() -> None:
    rng = random.Random(5)
    words = ["get", "put", "user", "node-<*>", "<*>", "<*>,", "ok", "-", "x<*>y"]
    bucket = Bucket()
    for i in range(300):
        tokens = tuple(rng.choice(words) for _ in range(4))
        bucket.add(Template(f"t{i}", Pattern(tokens), i, 0))
    for _ in range(2_000):
        key = tuple(rng.choice([*words, "node-7", "x1y", "7,"]) for _ in range(4))
        assert {t.template_id for t in bucket.candidates(key)} == _all_fits(bucket, key)


def test_pattern_without_wording_only_fits_its_own_key() -> None:
    pattern = Pattern(("-", "<*>"))
    assert pattern.fits(("-", "<*>"))
    assert not pattern.fits(("-", "x"))
    assert token_class("<*>") < token_class("a<*>") < token_class("-") < token_class("word")


def test_a_cached_line_answers_with_the_template_as_generalised_since() -> None:
    miner = TemplateMiner()
    first = miner.add("domain root_domain is no longer served")
    assert first.template == "domain root_domain is no longer served"
    miner.add("domain d17 is no longer served")  # a slot where the rare template has a word: it absorbs it
    again = miner.add("domain root_domain is no longer served")
    assert again.template_id == first.template_id
    assert again.template == "domain <*> is no longer served"
    assert first.template == "domain root_domain is no longer served"  # handed out matches do not change


def test_multiline_message_shares_the_cache_of_its_first_line() -> None:
    miner = TemplateMiner()
    plain = miner.add("worker 7 crashed")
    traced = miner.add("worker 7 crashed\nTraceback (most recent call last):")
    assert traced.template_id == plain.template_id
    assert traced.params == ("7",)


def test_loads_a_checkpoint_written_before_the_speed_ups() -> None:
    data = STATE_V1.read_bytes().strip()
    miner = TemplateMiner.loads(data)
    assert [(t.template_id, t.template, t.count) for t in miner.templates()] == [
        ("c58266f2bf62d17b", "session opened for user <*>", 5),
        ("d797a3e3a60825e3", "disk <*> full", 1),
        ("8956f1c0b51a72af", "worker <*> restarted after <*> s", 1),
        ("f05e0b2146c6b250", "node node-<*> is up", 1),
    ]
    assert miner.resolve("ffc3ef67f4414e42") == "c58266f2bf62d17b"
    assert miner.dumps() == data  # the state format is unchanged
    assert miner.add("session opened for user zoe").template_id == "c58266f2bf62d17b"
    assert miner.add("node node-12 is up").template_id == "f05e0b2146c6b250"
