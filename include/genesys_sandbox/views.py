"""JSON renderings of the org's records, with the real API's field names. Absent values are omitted,
as the Genesys API omits nulls (so an active conversation has no `conversationEnd` / `endTime`)."""

from __future__ import annotations

from typing import Any

from genesys_sandbox.clock import format_instant
from genesys_sandbox.model import Conversation, ExternalContact, Participant, Recording, Session

_LIVE_MEDIA_KEYS = {"voice": "calls", "email": "emails", "message": "messages", "callback": "callbacks"}
_COUNTRY_BY_PREFIX = (("+1", "US"), ("+44", "GB"), ("+49", "DE"), ("+46", "SE"))


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != []}


def _date(value: Any) -> str | None:
    return format_instant(value) if value is not None else None


# ---- analytics ------------------------------------------------------------------------------------
def analytics_conversation(conversation: Conversation, *, with_attributes: bool = False) -> dict[str, Any]:
    return _compact(
        {
            "conversationId": conversation.id,
            "conversationStart": _date(conversation.start),
            "conversationEnd": _date(conversation.end),
            "originatingDirection": conversation.originating_direction,
            "conversationInitiator": conversation.initiator,
            "customerParticipation": True,
            "divisionIds": [conversation.division_id],
            "participants": [_analytics_participant(p, with_attributes) for p in conversation.participants],
        }
    )


def _analytics_participant(participant: Participant, with_attributes: bool) -> dict[str, Any]:
    data = _compact(
        {
            "participantId": participant.participant_id,
            "participantName": participant.name,
            "purpose": participant.purpose,
            "userId": participant.user_id,
            "externalContactId": participant.external_contact_id,
            "sessions": [_analytics_session(s) for s in participant.sessions],
        }
    )
    if with_attributes and participant.purpose in ("customer", "external"):
        data["attributes"] = {
            "sandbox.channel": participant.sessions[0].media_type if participant.sessions else "",
            # flow-set participant data (data_shapes="real"): e-mails and callback numbers as typed
            **participant.attributes,
        }
    return data


def _analytics_session(session: Session) -> dict[str, Any]:
    return _compact(
        {
            "sessionId": session.session_id,
            "mediaType": session.media_type,
            "direction": session.direction,
            "ani": session.ani,
            "dnis": session.dnis,
            "addressFrom": session.address_from,
            "addressTo": session.address_to,
            "remote": session.remote,
            "callbackNumbers": list(session.callback_numbers),
            "callbackUserName": session.callback_user_name,
            "messageType": session.message_type,
            "provider": session.provider,
            "recording": session.recording if session.recording else None,
            "segments": [
                _compact(
                    {
                        "segmentStart": _date(s.start),
                        "segmentEnd": _date(s.end),
                        "segmentType": s.segment_type,
                        "queueId": s.queue_id,
                        "disconnectType": s.disconnect_type,
                    }
                )
                for s in session.segments
            ],
        }
    )


# ---- live conversation ----------------------------------------------------------------------------
def live_conversation(conversation: Conversation) -> dict[str, Any]:
    recording = any(r.file_state != "DELETED" for r in conversation.recordings)
    state = "connected" if conversation.active else "disconnected"
    return _compact(
        {
            "id": conversation.id,
            "startTime": _date(conversation.start),
            "endTime": _date(conversation.end),
            "participants": [_live_participant(conversation, p) for p in conversation.participants],
            "recordingState": ("ACTIVE" if recording else "NONE") if conversation.active else "NONE",
            "state": state,
            "divisions": [
                {
                    "division": {
                        "id": conversation.division_id,
                        "selfUri": f"/api/v2/authorization/divisions/{conversation.division_id}",
                    },
                    "entities": [],
                }
            ],
            "selfUri": f"/api/v2/conversations/{conversation.id}",
        }
    )


def _live_participant(conversation: Conversation, participant: Participant) -> dict[str, Any]:
    first = participant.sessions[0] if participant.sessions else None
    address = None
    if first is not None:
        if first.media_type == "email" or first.media_type == "message":
            address = first.address_from if first.direction == "inbound" else first.address_to
        elif first.media_type == "callback":
            address = first.callback_numbers[0] if first.callback_numbers else None
        else:
            address = first.ani if first.direction == "inbound" else first.dnis
    if participant.purpose == "agent":
        address = None
    segment_starts = [seg.start for s in participant.sessions for seg in s.segments]
    segment_ends = [seg.end for s in participant.sessions for seg in s.segments]
    ended = conversation.end is not None
    end_time = max(e for e in segment_ends if e is not None) if ended and any(segment_ends) else None
    data = _compact(
        {
            "id": participant.participant_id,
            "startTime": _date(min(segment_starts)) if segment_starts else None,
            "endTime": _date(end_time),
            "name": participant.name,
            "userId": participant.user_id,
            "externalContactId": participant.external_contact_id,
            "queueId": participant.queue_id,
            "purpose": participant.purpose,
            "address": address,
            "ani": first.ani if first else None,
            "dnis": first.dnis if first else None,
            # flow-set participant data (data_shapes="real"); the live view carries it as analytics does
            "attributes": dict(participant.attributes) or None,
        }
    )
    for session in participant.sessions:
        key = _LIVE_MEDIA_KEYS[session.media_type]
        data.setdefault(key, []).append(_live_media(session, ended))
    return data


def _live_media(session: Session, ended: bool) -> dict[str, Any]:
    start = session.segments[0].start if session.segments else None
    end = session.segments[-1].end if session.segments and ended else None
    media = session.media_type
    if media == "voice":
        state = "terminated" if ended else "connected"
    else:
        state = "disconnected" if ended else "connected"
    item: dict[str, Any] = {
        "id": session.session_id,
        "state": state,
        "direction": session.direction,
        "connectedTime": _date(start),
        "disconnectedTime": _date(end),
        "provider": session.provider,
    }
    if media == "voice":
        item["recording"] = session.recording
    if media == "message" and session.message_type:
        item["type"] = "sms" if session.message_type == "SMS" else "whatsapp"
    if media == "callback":
        item["callbackNumbers"] = list(session.callback_numbers)
        item["callbackUserName"] = session.callback_user_name
    return _compact(item)


# ---- recordings -----------------------------------------------------------------------------------
def recording_metadata(recording: Recording) -> dict[str, Any]:
    return _compact(
        {
            "id": recording.id,
            "conversationId": recording.conversation_id,
            "startTime": _date(recording.start),
            "endTime": _date(recording.end),
            "media": recording.media,
            "mediaSubtype": "Trunk" if recording.media == "audio" else None,
            "fileState": recording.file_state,
            "archiveDate": _date(recording.archive_date),
            "archiveMedium": "CLOUDARCHIVE" if recording.archive_date else None,
            "deleteDate": _date(recording.delete_date),
            "sessionId": recording.session_id,
            "region": "eu-west-1",
            "selfUri": f"/api/v2/conversations/{recording.conversation_id}/recordingmetadata/{recording.id}",
        }
    )


# ---- external contacts ----------------------------------------------------------------------------
_EMAIL_KEYS = ("workEmail", "personalEmail", "otherEmail")
_PHONE_KEYS = ("cellPhone", "homePhone", "workPhone", "otherPhone")


def external_contact(contact: ExternalContact, division_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": contact.id,
        "division": {
            "id": division_id,
            "name": "Home",
            "selfUri": f"/api/v2/authorization/divisions/{division_id}",
        },
        "firstName": contact.first_name,
        "lastName": contact.last_name,
    }
    for key, email in zip(_EMAIL_KEYS, contact.emails, strict=False):
        data[key] = email
    for key, phone in zip(_PHONE_KEYS, contact.phones, strict=False):
        data[key] = phone_number(phone)
    data.update(
        {
            "modifyDate": _date(contact.modify_date),
            "createDate": _date(contact.create_date),
            "type": "Curated",
            "selfUri": f"/api/v2/externalcontacts/contacts/{contact.id}",
        }
    )
    return _compact(data)


def phone_number(e164: str) -> dict[str, Any]:
    country = next((c for prefix, c in _COUNTRY_BY_PREFIX if e164.startswith(prefix)), None)
    return _compact({"display": e164, "e164": e164, "countryCode": country, "acceptsSMS": False})
