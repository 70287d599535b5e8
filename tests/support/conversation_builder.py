"""Builders for analytics conversations in the real `AnalyticsConversation` JSON shape (as returned by
POST /api/v2/analytics/conversations/details/query and by detail-job results), trimmed to the fields the
erasure pipeline reads plus enough realistic context (IVR/ACD/agent participants, segments, metrics)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ORG_DID = "+442079460000"
ORG_EMAIL = "support@acme-energy.co.uk"
ORG_SMS_NUMBER = "+447700900999"
AGENT_USER_ID = "6b1f2c5e-1a7d-4d5e-9c3b-2f8e9a0b1c2d"
QUEUE_ID = "0c7a1d2e-3b4c-4d5e-8f9a-0b1c2d3e4f5a"

_NAMESPACE = uuid.UUID("4f1c6f0e-9d0b-4e5a-a7c1-3e2d1c0b9a88")


def conversation_id(label: str) -> str:
    """A stable conversation UUID for a readable test label."""
    return str(uuid.uuid5(_NAMESPACE, label))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _segment(start: datetime, end: datetime | None, segment_type: str = "interact") -> dict[str, Any]:
    segment: dict[str, Any] = {"segmentStart": iso(start), "segmentType": segment_type}
    if end is not None:
        segment["segmentEnd"] = iso(end)
        segment["disconnectType"] = "endpoint"
    return segment


def _session(media: str, direction: str, start: datetime, end: datetime | None, **fields: Any) -> dict:
    return {
        "mediaType": media,
        "sessionId": str(uuid.uuid4()),
        "direction": direction,
        "provider": "Edge" if media == "voice" else "PureCloud",
        "recording": media == "voice",
        "segments": [_segment(start, end)],
        **fields,
    }


def _conversation(
    label: str, start: datetime, end: datetime | None, direction: str, participants: list[dict]
) -> dict[str, Any]:
    conversation: dict[str, Any] = {
        "conversationId": conversation_id(label),
        "conversationStart": iso(start),
        "originatingDirection": direction,
        "divisionIds": ["b2d1c0e9-8f7a-4b6c-9d5e-1f2a3b4c5d6e"],
        "mediaStatsMinConversationMos": 4.38,
        "participants": participants,
    }
    if end is not None:
        conversation["conversationEnd"] = iso(end)
    return conversation


def _agent(media: str, direction: str, start: datetime, end: datetime | None, **fields: Any) -> dict:
    return {
        "participantId": str(uuid.uuid4()),
        "participantName": "Sam Agent",
        "purpose": "agent",
        "userId": AGENT_USER_ID,
        "sessions": [_session(media, direction, start, end, **fields)],
    }


def voice_call(
    label: str,
    *,
    start: datetime,
    direction: str = "inbound",
    customer_number: str = "tel:+447700900123",
    org_number: str = "tel:" + ORG_DID,
    duration: timedelta | None = timedelta(minutes=7),
    external_contact_id: str | None = None,
    customer_name: str = "Jane Doe",
) -> dict[str, Any]:
    """A voice call: `duration=None` makes it active (no conversationEnd)."""
    end = start + duration if duration is not None else None
    ani, dnis = (customer_number, org_number) if direction == "inbound" else (org_number, customer_number)
    customer: dict[str, Any] = {
        "participantId": str(uuid.uuid4()),
        "participantName": customer_name,
        "purpose": "customer" if direction == "inbound" else "external",
        "sessions": [_session("voice", direction, start, end, ani=ani, dnis=dnis, sessionDnis=dnis)],
    }
    if external_contact_id:
        customer["externalContactId"] = external_contact_id
    ivr = {
        "participantId": str(uuid.uuid4()),
        "participantName": "Main IVR",
        "purpose": "ivr",
        "sessions": [_session("voice", direction, start, end, ani=ani, dnis=dnis)],
    }
    agent = _agent("voice", direction, start, end, ani=ani, dnis="sip:sam.agent@acme.byoc.example")
    return _conversation(label, start, end, direction, [customer, ivr, agent])


def email_conversation(
    label: str,
    *,
    start: datetime,
    direction: str = "inbound",
    customer_address: str = "Jane.Doe@Example.com",
    org_address: str = ORG_EMAIL,
    duration: timedelta | None = timedelta(hours=3),
) -> dict[str, Any]:
    end = start + duration if duration is not None else None
    sender, recipient = (
        (customer_address, org_address) if direction == "inbound" else (org_address, customer_address)
    )
    fields = {"addressFrom": sender, "addressTo": recipient, "remote": "Jane Doe"}
    customer = {
        "participantId": str(uuid.uuid4()),
        "participantName": "Jane Doe",
        "purpose": "customer" if direction == "inbound" else "external",
        "sessions": [_session("email", direction, start, end, **fields)],
    }
    acd = {
        "participantId": str(uuid.uuid4()),
        "participantName": "Billing",
        "purpose": "acd",
        "sessions": [_session("email", direction, start, end, **fields)],
    }
    agent = _agent("email", direction, start, end, addressFrom=org_address, addressTo=customer_address)
    return _conversation(label, start, end, direction, [customer, acd, agent])


def message_conversation(
    label: str,
    *,
    start: datetime,
    direction: str = "inbound",
    customer_address: str = "+447700900456",
    org_address: str = ORG_SMS_NUMBER,
    message_type: str = "sms",
    duration: timedelta | None = timedelta(minutes=20),
) -> dict[str, Any]:
    end = start + duration if duration is not None else None
    sender, recipient = (
        (customer_address, org_address) if direction == "inbound" else (org_address, customer_address)
    )
    customer = {
        "participantId": str(uuid.uuid4()),
        "participantName": "Jane Doe",
        "purpose": "customer",
        "sessions": [
            _session(
                "message",
                direction,
                start,
                end,
                addressFrom=sender,
                addressTo=recipient,
                messageType=message_type,
            )
        ],
    }
    agent = _agent("message", direction, start, end, addressFrom=org_address, addressTo=customer_address)
    return _conversation(label, start, end, direction, [customer, agent])


def callback_conversation(
    label: str,
    *,
    start: datetime,
    callback_numbers: tuple[str, ...] = ("+447700900789",),
    dialled_number: str = "tel:+447700900789",
    duration: timedelta | None = timedelta(minutes=12),
) -> dict[str, Any]:
    """A web callback request followed by the outbound call that honours it."""
    end = start + duration if duration is not None else None
    customer = {
        "participantId": str(uuid.uuid4()),
        "participantName": "Jane Doe",
        "purpose": "customer",
        "sessions": [
            _session(
                "callback",
                "outbound",
                start,
                end,
                callbackNumbers=list(callback_numbers),
                callbackUserName="Jane Doe",
                dnis=dialled_number,
                ani="tel:" + ORG_DID,
            ),
        ],
    }
    agent = _agent("callback", "outbound", start, end, callbackNumbers=list(callback_numbers))
    return _conversation(label, start, end, "outbound", [customer, agent])
