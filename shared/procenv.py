"""The basics a spawned Python process needs from its parent's environment, and nothing secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

BASICS: Final = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TERM",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONHASHSEED",
    "VIRTUAL_ENV",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "IR_DATA_DIR",
)
"""What any Python process needs to start and find its files, certificates and locale."""

BASIC_PREFIXES: Final = ("LC_",)


def is_basic(name: str) -> bool:
    """Tell whether an environment variable is one of the basics every process may inherit."""
    return name in BASICS or name.startswith(BASIC_PREFIXES)


def basic_env(parent: Mapping[str, str]) -> dict[str, str]:
    """Return only the basic variables of ``parent`` (no credentials, tokens or service settings)."""
    return {k: v for k, v in parent.items() if is_basic(k)}
