"""Every exception class the project defines hangs under IncidentResponseError, through one concern base."""

from __future__ import annotations

import importlib
import pkgutil

import incidentctl
import services
import shared
from shared import errors

PACKAGES = (shared, services, incidentctl)
CONCERNS = (
    errors.ConfigurationError,
    errors.DataError,
    errors.EventError,
    errors.BrokerError,
    errors.StorageError,
    errors.ActionError,
    errors.DeliveryError,
    errors.CliError,
)


def project_exceptions() -> list[type[BaseException]]:
    """Import every module of the packages, then walk BaseException's subclasses defined in them."""
    for package in PACKAGES:
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(info.name)
    roots = {p.__name__ for p in PACKAGES}
    found: dict[type[BaseException], None] = {}
    todo: list[type[BaseException]] = [BaseException]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found[sub] = None
                todo.append(sub)
    return [c for c in found if c.__module__.partition(".")[0] in roots and c.__module__ != errors.__name__]


def test_every_project_exception_derives_from_the_root_through_one_concern() -> None:
    classes = project_exceptions()
    names = {c.__qualname__ for c in classes}
    assert {"ConfigError", "RejectedEvent", "CaseFileError", "StateStoreError", "ApiError"} <= names  # walk works
    stray = sorted(
        f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, errors.IncidentResponseError)
    )
    assert stray == []
    muddled = {
        f"{c.__module__}.{c.__qualname__}": [b.__name__ for b in CONCERNS if issubclass(c, b)]
        for c in classes
        if sum(issubclass(c, b) for b in CONCERNS) != 1
    }
    assert muddled == {}


def test_the_concern_bases_are_direct_children_of_the_root() -> None:
    assert all(c.__bases__ == (errors.IncidentResponseError,) for c in CONCERNS)
    assert errors.IncidentResponseError.__bases__ == (Exception,)
    public = {getattr(errors, n) for n in errors.__all__} - {errors.IncidentResponseError}
    assert public == set(CONCERNS)
