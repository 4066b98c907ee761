"""Request bodies of the API's mutations."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.models import Identifier, Impact, Severity, Team, UtcDatetime

REQUEST_ID_DOC = "makes retries safe: the same request id yields the same command (else the Idempotency-Key header)"


class Body(BaseModel):
    """Base of request bodies: unknown fields are rejected, so typos surface as 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ActorRequest(Body):
    """Who acts, and an optional comment (acknowledge, resolve, RCA)."""

    actor: str = Field("api", min_length=1, max_length=200)
    text: str = Field("", max_length=4000)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class AckRequest(ActorRequest):
    """An acknowledgement, by the level acknowledging (default: the highest level paged)."""

    level: Team | None = Field(None, description="L1, L2 or L3; a lower level's ack leaves the higher level's clock")


REASON_DOC = "why (recorded on the incident's timeline with the actor)"


class DeclareRequest(Body):
    """An incident a person reports: what, how severe, its impact."""

    title: str = Field(min_length=1, max_length=500)
    severity: Severity
    impact: Impact | None = Field(None, description="e.g. security, data_loss")
    target: str = Field("", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$", description="the service affected")
    team: Team | None = Field(None, description="the team it is assigned to")
    text: str = Field("", max_length=4000, description="what is known so far")
    actor: str = Field("api", min_length=1, max_length=200)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class EscalateRequest(Body):
    """Escalate now: to the next level, or to ``level``."""

    level: Team | None = None
    text: str = Field("", max_length=4000, description=REASON_DOC)
    actor: str = Field("api", min_length=1, max_length=200)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class ReassignRequest(Body):
    """Reassign to a team (paged now) and/or a person."""

    team: Team | None = None
    person: str = Field("", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
    text: str = Field("", max_length=4000, description=REASON_DOC)
    actor: str = Field("api", min_length=1, max_length=200)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if self.team is None and not self.person:
            raise ValueError("give a team or a person")
        return self


class SeverityRequest(Body):
    """Override the severity (sticks against automatic re-grading); ``severity`` null clears the override."""

    severity: Severity | None
    text: str = Field(min_length=1, max_length=4000, description=REASON_DOC + "; required")
    actor: str = Field("api", min_length=1, max_length=200)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class MergeRequest(Body):
    """Merge this incident into ``into``: it resolves as merged, its anomalies move there."""

    into: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    text: str = Field("", max_length=4000, description=REASON_DOC)
    actor: str = Field("api", min_length=1, max_length=200)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class SplitRequest(Body):
    """Move the named anomalies of this incident to a new incident."""

    anomaly_ids: tuple[Identifier, ...] = Field(min_length=1, max_length=1000)
    title: str = Field("", max_length=500)
    text: str = Field("", max_length=4000, description=REASON_DOC)
    actor: str = Field("api", min_length=1, max_length=200)
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


class ApprovalRequest(Body):
    """A decision on the recovery step awaiting approval: ``text`` says why (required to deny)."""

    text: str = Field("", max_length=4000, description=REASON_DOC)
    actor: str = Field("api", min_length=1, max_length=200)
    request_id: str | None = Field(None, max_length=200, description=REQUEST_ID_DOC)


class DenyRequest(ApprovalRequest):
    """Deny the recovery step awaiting approval, with a reason."""

    text: str = Field(min_length=1, max_length=4000, description=REASON_DOC)
