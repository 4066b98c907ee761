from __future__ import annotations

import pytest

from services.detector.adapters.es_logs import clean_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (b"bad \xff bytes", "bad \ufffd bytes"),
        ("lone \udcff surrogate", "lone \ufffd surrogate"),
        (["line one", "line two"], "line one\nline two"),
        (42, "42"),
        ("x" * 50, "x" * 10),
    ],
)
def test_clean_text_gives_valid_utf8(value: object, text: str) -> None:
    cleaned = clean_text(value, limit=10 if text == "x" * 10 else 1_000)
    assert cleaned == text
    cleaned.encode("utf-8")
