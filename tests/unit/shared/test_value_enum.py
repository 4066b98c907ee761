"""The contract's enums answer exactly as a plain ``StrEnum`` does; only reading ``value`` got cheaper."""

from __future__ import annotations

import copy
import json
import pickle
from enum import StrEnum

import pytest
from pydantic import BaseModel

from shared import models as m

CONTRACT_ENUMS = (m.Severity, m.Team, m.AnomalyKind, m.Impact, m.IncidentStatus, m.ApprovalDefault, m.ActionState)


@pytest.mark.parametrize("enum", CONTRACT_ENUMS, ids=lambda e: e.__name__)
def test_every_member_reads_lookups_and_round_trips_as_a_str_enum_would(enum: type[m.ValueEnum]) -> None:
    twin = StrEnum(enum.__name__, [(member.name, member._value_) for member in enum])  # type: ignore[misc]
    assert [(x.name, x.value) for x in enum] == [(x.name, x.value) for x in twin]
    for member in enum:
        assert enum(member.value) is member and enum[member.name] is member
        assert pickle.loads(pickle.dumps(member)) is member and copy.deepcopy(member) is member
        assert json.dumps(member) == json.dumps(twin[member.name]) and str(member) == member.value


class Held(BaseModel):
    severity: m.Severity
    impacts: tuple[m.Impact, ...]


def test_pydantic_reads_and_writes_the_members_by_their_values() -> None:
    held = Held.model_validate_json('{"severity": "major", "impacts": ["service_down"]}')
    assert held.severity is m.Severity.MAJOR and held.impacts == (m.Impact.SERVICE_DOWN,)
    assert held.model_dump_json() == '{"severity":"major","impacts":["service_down"]}'
    assert held.model_dump() == {"severity": m.Severity.MAJOR, "impacts": (m.Impact.SERVICE_DOWN,)}
