"""Request bodies of the API's mutations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.models import UtcDatetime

REQUEST_ID_DOC = "makes retries safe: the same request id yields the same command (else the Idempotency-Key header)"


class Body(BaseModel):
    """Base of request bodies: unknown fields are rejected, so typos surface as 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ActorRequest(Body):
    """Who acts, and an optional comment (acknowledge, resolve, RCA)."""

    actor: str = Field("api", min_length=1, max_length=200)
    text: str = Field("", max_length=4000)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class NoteRequest(Body):
    """A note for an incident's timeline."""

    text: str = Field(min_length=1, max_length=4000)
    actor: str = Field("api", min_length=1, max_length=200)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class SilenceRequest(Body):
    """A silence: anomalies whose labels match every matcher raise no incident in the window."""

    matchers: dict[str, str] = Field(min_length=1, description="label=value pairs, e.g. {'service': 'demo'}")
    starts_at: UtcDatetime | None = Field(None, description="default: now (a time zone is required)")
    ends_at: UtcDatetime | None = Field(None, description="give ends_at or duration_s (a time zone is required)")
    duration_s: float | None = Field(None, gt=0, le=90 * 86400)
    author: str = Field("api", min_length=1, max_length=200)
    reason: str = Field("", max_length=2000)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)
