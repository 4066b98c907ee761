"""The responder's HTTP API, web console and Alertmanager ingest, over a read model of the topics."""

from services.responder.api.factory import build_api, create_api
from services.responder.api.settings import AlertmanagerMapping, ApiSettings

__all__ = ["AlertmanagerMapping", "ApiSettings", "build_api", "create_api"]
