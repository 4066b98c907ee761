"""Log records to Elasticsearch documents (``@timestamp``, ``message``, ``level``, ``service``, ``host``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.collector.domain.loglines import LogRecord, parse_level, parse_timestamp
from services.collector.domain.offsets import FileId


@dataclass(frozen=True, slots=True)
class LogDocument:
    """One document to index, with an id derived from where the record sits in its file."""

    index: str
    doc_id: str
    source: dict[str, Any]


def index_name(prefix: str, stamp: datetime) -> str:
    """Return the daily index of a timestamp: ``<prefix>-YYYY.MM.DD`` (UTC)."""
    return f"{prefix}-{stamp:%Y.%m.%d}"


def to_document(
    record: LogRecord,
    *,
    service: str,
    host: str,
    path: str,
    file: FileId,
    index_prefix: str,
    read_at: datetime,
) -> LogDocument:
    """Build the document of one record; ``read_at`` stands in when the header carries no timestamp.

    The id hashes the host, file identity, byte offset and text, so shipping a record again after a
    failure or a restart overwrites the same document instead of adding a duplicate.
    """
    header = record.lines[0] if record.lines else ""
    stamp = parse_timestamp(header) or read_at
    key = f"{host}\0{path}\0{file.device}:{file.inode}\0{record.start}\0{record.message}"
    source: dict[str, Any] = {
        "@timestamp": stamp.isoformat(),
        "message": record.body,
        "level": parse_level(header),
        "service": service,
        "host": host,
        "log": {"file": {"path": path}, "offset": record.start},
    }
    return LogDocument(index_name(index_prefix, stamp), hashlib.sha1(key.encode()).hexdigest(), source)
