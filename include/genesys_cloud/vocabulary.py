"""The Genesys Cloud words this project reads and sends, as `StrEnum`s (one spelling each).

Members compare equal to the API's strings (`GdprStatus.COMPLETED == "COMPLETED"`), so values read from
JSON or stored in the ledger need no conversion. The sandbox keeps its own copies on purpose: a stand-in
that shared the client's vocabulary would mirror a client's mistake instead of catching it.
"""

from __future__ import annotations

from enum import StrEnum


class GdprStatus(StrEnum):
    """`GDPRRequest.status`. Only COMPLETED and ERROR are final; the order of the others is not documented."""

    INITIATED = "INITIATED"
    SEARCHING = "SEARCHING"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    FINALIZING = "FINALIZING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"


class GdprRequestType(StrEnum):
    """`GDPRRequest.requestType`."""

    GDPR_EXPORT = "GDPR_EXPORT"
    GDPR_UPDATE = "GDPR_UPDATE"
    GDPR_DELETE = "GDPR_DELETE"


class GdprSearchType(StrEnum):
    """`searchType` of `GET /api/v2/gdpr/subjects`; also the `replacementTerms[].type` of a GDPR_UPDATE."""

    NAME = "NAME"
    ADDRESS = "ADDRESS"
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    TWITTER = "TWITTER"
    INSTAGRAM = "INSTAGRAM"
    FACEBOOK = "FACEBOOK"
    APPLE_MESSAGES = "APPLE_MESSAGES"
    EXTERNAL_ID = "EXTERNAL_ID"


class AnalyticsJobState(StrEnum):
    """`AsyncQueryStatus.state` of an analytics conversation-details job."""

    QUEUED = "QUEUED"
    PENDING = "PENDING"
    FULFILLED = "FULFILLED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
