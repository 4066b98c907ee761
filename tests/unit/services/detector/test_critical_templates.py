"""Log templates -> the manual's Critical classes (security, leak, data loss) by words and structure."""

from __future__ import annotations

import pytest

from services.detector.domain.critical import CriticalClass, classify_template, explanation

S, L, D, N = CriticalClass.SECURITY, CriticalClass.LEAK, CriticalClass.DATA_LOSS, CriticalClass.NONE

POSITIVE = [
    # security: authentication failures, access denied on sensitive resources, privilege changes, admin sessions
    ("unauthorized access to customer table", "ERROR", S),
    ("authentication failed for user <*> from <*>", "WARN", S),
    ("Failed password for invalid user <*> from <*> port <*> ssh2", "INFO", S),
    ("brute force suspected: <*> failed logins for account <*>", "WARN", S),
    ("access denied on /admin/customers for user <*>", "ERROR", S),
    ("privilege escalation: role of user <*> changed to admin", "WARN", S),
    ("sudo: pam_unix(sudo:session): session opened for user <*>", "INFO", S),
    ("new admin session for user <*> from <*>", "INFO", S),
    ("사용자 <*> 인증 실패", "WARN", S),
    ("고객 테이블 접근 거부: 사용자 <*>", "ERROR", S),
    ("관리자 세션 시작: 계정 <*>", "INFO", S),
    ("사용자 <*> 권한 상승", "WARN", S),
    # the same from PostgreSQL's log
    ('password authentication failed for user "<*>"', "FATAL", S),
    ("permission denied for table customers", "ERROR", S),
    ("statement: GRANT ALL PRIVILEGES ON DATABASE <*> TO <*>", "LOG", S),
    ("statement: ALTER ROLE <*> WITH SUPERUSER", "LOG", S),
    ("invalid page in block <*> of relation base/<*>", "ERROR", D),
    # leak: bulk exports, transfers to the outside
    ("bulk export of <*> customer records to external host <*>", "ERROR", L),
    ("data exfiltration detected to <*>", "WARN", L),
    ("uploaded <*> rows to external bucket <*>", "INFO", L),
    ("고객 레코드 <*> 건 대량 내보내기", "WARN", L),
    ("개인정보 외부 유출 의심: <*> 건", "ERROR", L),
    # data loss: storage I/O errors, read-only file systems, integrity errors, failed backups
    ("blk_update_request: I/O error, dev <*>, sector <*>", "ERROR", D),
    ("EXT4-fs (<*>): Remounting filesystem read-only", "CRITICAL", D),
    ("could not write to file <*>: Read-only file system", "ERROR", D),
    ("invalid page in block <*> of relation <*>: data corrupted", "ERROR", D),
    ("checksum mismatch in segment <*>", "ERROR", D),
    ("duplicate key value violates unique constraint <*>: integrity violation", "ERROR", D),
    ("nightly backup of <*> failed: <*>", "ERROR", D),
    ("데이터 손실 발생: 테이블 <*>", "ERROR", D),
    ("디스크 <*> 데이터 손상 감지", "ERROR", D),
    ("백업 실패: <*>", "ERROR", D),
]

NEGATIVE = [
    ("authentication succeeded for user <*>", "INFO"),
    ("user <*> logged in", "INFO"),
    ("exported metrics to <*>", "INFO"),
    ("read-only replica healthy, lag <*> ms", "INFO"),
    ("backup of <*> completed in <*> s", "INFO"),
    ("integrity check passed: no corruption found", "INFO"),
    ("GET /items/<*> 200 in <*> ms", "INFO"),
    ("Unhandled error in request <*>: database timeout", "ERROR"),
    ("connection refused by upstream <*>", "ERROR"),
    ("export job scheduled at <*>", "INFO"),
    ("permission check for <*>", "INFO"),
    ("statement: GRANT SELECT ON metrics TO <*>", "LOG"),
    ("connection authorized: user=<*> database=<*>", "LOG"),
    ("checkpoint complete: wrote <*> buffers", "LOG"),
    ("사용자 <*> 인증 성공", "INFO"),
    ("복제본 정상, 지연 <*> ms", "INFO"),
    ("백업 완료: <*>", "INFO"),
    ("관리자 페이지 로드 <*> ms", "INFO"),
]


@pytest.mark.parametrize(("template", "level", "expected"), POSITIVE)
def test_critical_templates_are_classified_with_their_words(template: str, level: str, expected: CriticalClass) -> None:
    verdict = classify_template(template, level)
    assert verdict.cls is expected, verdict
    assert verdict.critical and 0.6 <= verdict.score <= 1.0
    assert verdict.words and all(w in template.lower() for w in verdict.words)


@pytest.mark.parametrize(("template", "level"), NEGATIVE)
def test_ordinary_templates_are_not_critical(template: str, level: str) -> None:
    verdict = classify_template(template, level)
    assert verdict.cls is N, verdict
    assert not verdict.critical


def test_structure_counts_the_level_and_the_slots() -> None:
    bare = classify_template("access denied to <*>", "INFO")
    loud = classify_template("access denied to customer table for user <*>", "ERROR")
    assert bare.cls is N and loud.cls is S
    assert "level ERROR" in loud.structure and any("user <*>" in s for s in loud.structure)


def test_explanation_names_the_class_words_and_activity() -> None:
    verdict = classify_template("unauthorized access to customer table", "ERROR")
    text = explanation(verdict, "burst 40/min")
    assert text == "security-relevant template (words: unauthorized, customer table) burst 40/min"
