"""The human decisions' reasons read in Korean, with the people's names (chat ids too) kept as they are."""

from __future__ import annotations

import re

import pytest

from shared.phrases import translate

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.parametrize(
    ("english", "kept"),
    [
        ("declared by alice (critical, impact data_loss): customer data exposed", "alice"),
        ("critical: declared by alice", "alice"),
        (
            "escalated by slack:dana.kim from L1 to L2: escalated by slack:dana.kim from chat; L2's clock starts",
            "slack:dana.kim",
        ),
        ("escalation asked by bob; already at L3, the highest level", "bob"),
        ("reassigned by carol to L2 / dave", "carol"),
        ("severity set major → minor by dan: staging only", "dan"),
        ("severity override cleared by dan; automatic grading applies again", "dan"),
        ("minor: set by dan: staging only", "dan"),
        ("merged into inc-2 by eve", "inc-2"),
        ("inc-1 merged in by eve (3 anomalies)", "inc-1"),
        ("split by eve: 2 anomalies moved to inc-9", "inc-9"),
        ("split from inc-1 by eve", "inc-1"),
    ],
)
def test_each_decision_reason_reads_in_korean(english: str, kept: str) -> None:
    korean = translate(english, "ko")
    assert HANGUL.search(korean) and kept in korean, korean
    for word in (" by ", "declared", "escalated", "reassigned", "merged", "split "):
        assert word not in korean, korean
    assert translate(english, "en") == english
