"""YAML configuration files whose errors name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from shared.errors import ConfigurationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ConfigurationError):
    """A configuration file could not be read or does not match its schema."""


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Return the 1-based line of the YAML node at ``loc``, or of its nearest existing parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
            if child is None:
                key = next((k for k, _ in node.value if k.value == str(part)), None)
                return key.start_mark.line + 1 if key is not None else line
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """Read a YAML mapping and its node tree (for line numbers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping at the top level, got {type(data).__name__}")
    return data, node


def describe_validation_error(path: Path, node: yaml.Node | None, exc: ValidationError) -> str:
    """Format a pydantic error as ``file:line: field: message`` lines."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(root)"
        line = line_of(node, loc)
        where = f"{path}:{line}" if line is not None else str(path)
        lines.append(f"{where}: {field}: {err['msg']}")
    return "\n".join(lines)


def load_model(path: Path, model: type[M]) -> M:
    """Load and validate a YAML file into ``model``, raising ``ConfigError`` with file, line and field."""
    data, node = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, node, exc)) from exc
