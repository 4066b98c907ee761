"""Derived ids are the UUIDv5 of their parts, so ids written before stay the ids of the same inputs."""

from __future__ import annotations

import random
import uuid
from enum import Enum, StrEnum

from shared.ids import NAMESPACE, derive_id


class Plain(str, Enum):  # noqa: UP042 (its str() is not its value: the id must use str())
    A = "a"


class Word(StrEnum):
    B = "b"


def test_derive_id_is_uuid5_of_the_joined_parts() -> None:
    rng = random.Random(7)
    pool: list[object] = ["", "ü€\x00x", None, 3.5, ("a", 1), Plain.A, Word.B, 10**30]
    for _ in range(5000):
        parts = tuple(
            rng.choice([*pool, str(rng.random()), rng.randrange(-(10**9), 10**9)]) for _ in range(rng.randrange(5))
        )
        assert derive_id(*parts) == str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))
