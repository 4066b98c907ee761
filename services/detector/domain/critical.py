"""Which log templates mean the manual's Critical classes: security, leak or data loss.

A template is judged by its words (English and Korean) and its structure, not by a list of exact
messages. Every cue is a small regular expression with a weight toward one class:

* **security**: failed authentication, access denied or forbidden, privilege changes, new admin
  sessions (``unauthorized``, ``authentication failed``, ``sudo``, ``인증 실패``, ``접근 거부``, ...);
* **leak**: bulk exports and transfers to the outside (``bulk export``, ``exfiltration``,
  ``to external host``, ``대량``, ``내보내기``, ``유출``, ...);
* **data loss**: storage and integrity failures (``I/O error``, ``read-only file system``,
  ``corrupt``, ``checksum mismatch``, ``backup failed``, ``데이터 손실``, ``손상``, ...).

Context words (sensitive resources: ``customer``, ``table``, ``records``, ``고객``, ...) add to a class
that already has a cue of its own; words of success (``succeeded``, ``healthy``, ``성공``, ``정상``)
take security and data loss away (an export that succeeded is still a leak). Structure adds: the
line's level (ERROR and worse, then WARN) and a ``<*>`` slot where a count, user or host stands
(``<*> records``, ``user <*>``, ``to <*>``). The best class whose score reaches `THRESHOLD` wins;
its matched words explain the verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Final


class CriticalClass(StrEnum):
    """The manual's Critical problem classes a log template can belong to (``none``: not one of them)."""

    SECURITY = "security"
    LEAK = "leak"
    DATA_LOSS = "data_loss"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Cue:
    """One word cue: a case-insensitive pattern and what a match adds to its class's score."""

    pattern: re.Pattern[str]
    weight: float


def _cues(*items: tuple[str, float]) -> tuple[Cue, ...]:
    return tuple(Cue(re.compile(p, re.IGNORECASE), w) for p, w in items)


_EN = r"(?<![a-z])"  # English words start at a word edge; Korean cues match anywhere (particles attach)
CUES: Final[dict[CriticalClass, tuple[Cue, ...]]] = {
    CriticalClass.SECURITY: _cues(
        (_EN + r"unauthori[sz]ed", 0.5),
        (_EN + r"(?:authentication|auth|login|logon|sign-?in)\s+(?:fail(?:ed|ure|s)?|error|denied|rejected)", 0.5),
        (_EN + r"failed\s+(?:login|logon|password|authentication|sign-?in)", 0.5),
        (_EN + r"invalid\s+(?:password|credentials?|api\s+key|token|user(?:name)?)", 0.4),
        (_EN + r"brute[- ]?forc", 0.6),
        (_EN + r"(?:access|permission)\s+denied|" + _EN + r"denied\s+access", 0.4),
        (_EN + r"forbidden", 0.3),
        (_EN + r"privilege(?:s|d)?\s*(?:escalat|change|grant|elevat)\w*|" + _EN + r"escalat\w+\s+privilege", 0.5),
        (_EN + r"sudo" + r"(?![a-z])", 0.5),
        (_EN + r"(?:new\s+)?(?:admin|administrator|root|superuser)\s+(?:session|login|logon|access)", 0.5),
        (_EN + r"granted\s+(?:admin|superuser|root|role)", 0.5),
        (_EN + r"grant\s+(?:all\s+)?privileges|" + _EN + r"alter\s+(?:role|user)\s+\S+\s+(?:with\s+)?superuser", 0.6),
        (r"인증\s*실패|로그인\s*실패|비밀번호\s*(?:오류|불일치)", 0.5),
        (r"접근\s*거부|권한\s*(?:없|거부)", 0.4),
        (r"권한\s*(?:상승|변경|부여)", 0.5),
        (r"관리자\s*(?:세션|로그인|접속)", 0.5),
        (r"무단\s*(?:접근|접속)", 0.5),
        (r"권한", 0.2),
        (r"관리자", 0.2),
    ),
    CriticalClass.LEAK: _cues(
        (_EN + r"exfiltrat\w*", 0.7),
        (_EN + r"(?:bulk|mass|full)\s+(?:export|download|dump|copy)", 0.5),
        (_EN + r"(?:transfer\w*|upload\w*|sen[dt]\w*|cop(?:y|ied)|export\w*)\s+(?:\S+\s+){0,6}?to\s+external", 0.4),
        (_EN + r"external\s+(?:host|address|destination|server|bucket|ip)", 0.2),
        (_EN + r"(?:export\w*|dump\w*)", 0.2),
        (r"유출", 0.6),
        (r"대량", 0.3),
        (r"내보내기|반출", 0.3),
        (r"외부\s*(?:호스트|서버|전송|주소)", 0.3),
    ),
    CriticalClass.DATA_LOSS: _cues(
        (_EN + r"i/o\s+error|input/output\s+error", 0.5),
        (_EN + r"read-?only\s+file\s*system|remount\w*\s+(?:\S+\s+){0,2}?read-?only", 0.6),
        (_EN + r"corrupt\w*", 0.5),
        (_EN + r"invalid\s+page\s+in\s+block|" + _EN + r"could\s+not\s+read\s+block", 0.5),
        (_EN + r"integrity\s+(?:error|violation|check\s+failed|failure)", 0.5),
        (_EN + r"(?:constraint|foreign\s+key)\s+violation", 0.4),
        (_EN + r"checksum\s+(?:mismatch|error|failed)", 0.5),
        (_EN + r"backup\w*\s+(?:\S+\s+){0,3}?(?:failed|failure|error|missing)|" + _EN + r"failed\s+backup", 0.6),
        (_EN + r"data\s+loss|" + _EN + r"lost\s+(?:data|writes|rows|records|transactions)", 0.6),
        (_EN + r"(?:table|database|rows?)\s+(?:\S+\s+){0,2}?(?:dropped|truncated|deleted)", 0.4),
        (_EN + r"drop\s+table", 0.4),
        (r"데이터\s*(?:손실|유실)", 0.6),
        (r"손상", 0.5),
        (r"백업\s*실패", 0.6),
        (r"읽기\s*전용", 0.4),
        (r"무결성", 0.4),
        (r"입출력\s*오류", 0.5),
    ),
}
"""Word cues per class, English then Korean; weights add up (a strong cue alone is about 0.5)."""

CONTEXT: Final[dict[CriticalClass, tuple[Cue, ...]]] = {
    CriticalClass.SECURITY: _cues(
        (
            _EN + r"(?:customer|payment|payroll|credit\s+card|pii|secret|credential|password)s?"
            r"(?:\s+(?:table|data|records?))?",
            0.2,
        ),
        (r"고객|개인\s*정보|결제|비밀", 0.2),
    ),
    CriticalClass.LEAK: _cues(
        (_EN + r"(?:customer|user|payment|personal|pii)s?\s+(?:records?|rows?|data|table)", 0.2),
        (_EN + r"(?:records|rows)", 0.2),
        (r"고객|개인\s*정보|레코드|건", 0.2),
    ),
    CriticalClass.DATA_LOSS: _cues(
        (_EN + r"(?:table|database|disk|volume|block|page|index|wal|replica)", 0.1),
        (r"테이블|데이터베이스|디스크|볼륨", 0.1),
    ),
}
"""Words that add to a class that has a cue of its own: what was touched (a customer table, records)."""

SUCCESS: Final = re.compile(
    _EN + r"(?:succeeded|successful\w*|success|healthy|passed|accepted|granted\s+to\s+service|verified)(?![a-z])"
    r"|" + _EN + r"no\s+(?:\w+\s+)?(?:errors?|corruption|failures?|data\s+loss)"
    r"|성공|정상|통과",
    re.IGNORECASE,
)
"""Words of success: they take security and data loss away (an export that succeeded is still a leak)."""

SLOT_STRUCTURE: Final = re.compile(
    r"<\*>\s*(?:records?|rows?|users?|customers?|files?|bytes|[kmg]i?b|건|명|개)"
    r"|(?:user|account|host|from|to|ip|addr(?:ess)?|사용자|계정)\s*[=:]?\s*['\"]?<\*>",
    re.IGNORECASE,
)
"""A ``<*>`` slot holding a count, a user or a host: the structure of a security or leak message."""

LEVEL_BONUS: Final = {"CRITICAL": 0.2, "FATAL": 0.2, "SEVERE": 0.2, "ERROR": 0.2, "WARN": 0.1, "WARNING": 0.1}
SLOT_BONUS: Final = 0.1
THRESHOLD: Final = 0.6
_ORDER: Final = (CriticalClass.DATA_LOSS, CriticalClass.LEAK, CriticalClass.SECURITY)
"""Tie order: the worse class first."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A template's class, its score (0..1) and the words and structure that made it."""

    cls: CriticalClass
    score: float
    words: tuple[str, ...] = ()
    structure: tuple[str, ...] = ()

    @property
    def critical(self) -> bool:
        """True if the template belongs to one of the Critical classes."""
        return self.cls is not CriticalClass.NONE


NONE: Final = Verdict(CriticalClass.NONE, 0.0)


def _matches(cues: tuple[Cue, ...], text: str) -> tuple[float, list[str]]:
    score, words = 0.0, []
    for cue in cues:
        found = cue.pattern.search(text)
        if found is not None:
            score += cue.weight
            words.append(" ".join(found.group(0).lower().split()))
    return score, words


@lru_cache(maxsize=4096)
def classify_template(template: str, level: str = "") -> Verdict:
    """Return the Critical class of one log template (``<*>`` marks its slots) at ``level``."""
    text = template.replace("_", " ")
    success = SUCCESS.search(text) is not None
    structure: list[str] = []
    bonus = LEVEL_BONUS.get(level.upper(), 0.0)
    if bonus:
        structure.append(f"level {level.upper()}")
    slot = SLOT_STRUCTURE.search(text)
    if slot is not None:
        bonus += SLOT_BONUS
        structure.append(f"slot '{slot.group(0)}'")
    best = NONE
    for cls in _ORDER:
        own, words = _matches(CUES[cls], text)
        if not words or (success and cls is not CriticalClass.LEAK):
            continue
        extra, context = _matches(CONTEXT[cls], text)
        score = min(1.0, own + extra + bonus)
        if score >= THRESHOLD and score > best.score:
            unique = tuple(dict.fromkeys(w for w in (*words, *context) if w))
            best = Verdict(cls, round(score, 3), unique, tuple(structure))
    return best


def explanation(verdict: Verdict, activity: str) -> str:
    """Say why a template is Critical.

    ``security-relevant template (words: unauthorized, customer table) burst 40/min``
    """
    words = ", ".join(verdict.words)
    name = verdict.cls.value.replace("_", " ")
    return f"{name}-relevant template (words: {words}) {activity}".rstrip()
