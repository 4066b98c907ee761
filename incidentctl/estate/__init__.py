"""The demo estate: a PostgreSQL primary and streaming standby behind HAProxy, and scheduled pg_dump backups."""

from __future__ import annotations

__all__ = ["backup_policy", "haproxy", "postgres", "runner", "scheduler"]
