"""The project's exception tree: one root, one base per concern (pure: imports nothing).

Every exception class defined in ``shared``, ``services`` and ``incidentctl`` derives from
``IncidentResponseError`` through exactly one concern base below. A class that was also a builtin
error (``ValueError``, ``LookupError``, ``RuntimeError``) keeps that base as well, because callers
catch it as such: the CLI reports a ``ValueError`` as a usage error (exit 2), the RCA engine's
callers treat ``ValueError`` as bad input.

::

    IncidentResponseError
    ├── ConfigurationError   configuration or a secret is missing or invalid
    ├── DataError            input data (a file, a stored record, a name from outside) is malformed or unsafe
    ├── EventError           an event cannot be processed
    ├── BrokerError          the Kafka broker did not do what was asked
    ├── StorageError         a store (Elasticsearch, the state topic) could not be read or written
    ├── ActionError          a recovery action cannot be planned or carried out
    ├── DeliveryError        a notification could not be delivered
    └── CliError             an incidentctl command, or a process of the local stack it runs, failed
"""

from __future__ import annotations


class IncidentResponseError(Exception):
    """Root of every exception this project defines."""


class ConfigurationError(IncidentResponseError):
    """A configuration file, a setting or a secret it names is missing or invalid."""


class DataError(IncidentResponseError):
    """Input data (a case file, a CSV, a stored checkpoint, a name from outside) is malformed or unsafe."""


class EventError(IncidentResponseError):
    """An event cannot be processed."""


class BrokerError(IncidentResponseError):
    """The Kafka broker did not do what was asked (a send unacknowledged, a group join stalled)."""


class StorageError(IncidentResponseError):
    """A store (Elasticsearch, the compacted state topic) could not be read or written."""


class ActionError(IncidentResponseError):
    """A recovery action cannot be planned or carried out."""


class DeliveryError(IncidentResponseError):
    """A notification could not be delivered."""


class CliError(IncidentResponseError):
    """An ``incidentctl`` command, or a process of the local stack it runs, failed."""


__all__ = [
    "ActionError",
    "BrokerError",
    "CliError",
    "ConfigurationError",
    "DataError",
    "DeliveryError",
    "EventError",
    "IncidentResponseError",
    "StorageError",
]
