"""The live conversation view, disconnect, recording metadata and deletion protection."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from genesys_sandbox.errors import bad_request, not_found
from genesys_sandbox.model import Conversation
from genesys_sandbox.org import Org
from genesys_sandbox.routes_common import sandbox
from genesys_sandbox.views import live_conversation, recording_metadata

router = APIRouter()
MAX_PROTECTION_IDS = 100


def _conversation(org: Org, conversation_id: str) -> Conversation:
    conversation = org.conversations.get(conversation_id)
    if conversation is None:
        raise not_found(f"Conversation {conversation_id}")
    return conversation


@router.get("/api/v2/conversations/{conversationId}")
def get_conversation(request: Request, conversationId: str) -> JSONResponse:
    org = sandbox(request).org
    with org.lock:
        return JSONResponse(live_conversation(_conversation(org, conversationId)))


@router.post("/api/v2/conversations/{conversationId}/disconnect")
def disconnect_conversation(request: Request, conversationId: str) -> JSONResponse:
    state = sandbox(request)
    org = state.org
    with org.lock:
        conversation = _conversation(org, conversationId)
        if conversation.active:
            end = state.clock.now()
            conversation.end = end
            for participant in conversation.participants:
                for session in participant.sessions:
                    for segment in session.segments:
                        if segment.end is None:
                            segment.end = end
                            segment.disconnect_type = "client"
            for recording in conversation.recordings:
                recording.end = end
                if recording.file_state == "UPLOADING":
                    recording.file_state = "AVAILABLE"
    return JSONResponse("", status_code=202)


@router.get("/api/v2/conversations/{conversationId}/recordingmetadata")
def get_recording_metadata(request: Request, conversationId: str) -> JSONResponse:
    org = sandbox(request).org
    with org.lock:
        return JSONResponse([recording_metadata(r) for r in _conversation(org, conversationId).recordings])


@router.get("/api/v2/conversations/{conversationId}/recordingmetadata/{recordingId}")
def get_one_recording_metadata(request: Request, conversationId: str, recordingId: str) -> JSONResponse:
    org = sandbox(request).org
    with org.lock:
        for recording in _conversation(org, conversationId).recordings:
            if recording.id == recordingId:
                return JSONResponse(recording_metadata(recording))
    raise not_found(f"Recording {recordingId}")


def _conversation_ids(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("conversationIds"), list):
        raise bad_request('Body must be {"conversationIds": [...]}.', "conversationIds")
    ids = body["conversationIds"]
    if not all(isinstance(i, str) and i for i in ids):
        raise bad_request("conversationIds must be a list of conversation ids.", "conversationIds")
    if len(ids) > MAX_PROTECTION_IDS:
        raise bad_request(f"At most {MAX_PROTECTION_IDS} conversationIds per request.", "conversationIds")
    return ids


@router.post("/api/v2/recordings/deletionprotection")
def get_protected_conversations(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    ids = _conversation_ids(body)
    org = sandbox(request).org
    with org.lock:
        return JSONResponse(
            [
                {"id": cid, "selfUri": f"/api/v2/conversations/{cid}"}
                for cid in ids
                if cid in org.conversations and org.conversations[cid].protected
            ]
        )


@router.put("/api/v2/recordings/deletionprotection")
def put_protection(
    request: Request, body: Annotated[Any, Body()] = None, protect: bool = Query(...)
) -> JSONResponse:
    ids = _conversation_ids(body)
    missing = sandbox(request).org.set_protection(ids, protect)
    return JSONResponse(
        {
            "failedUpdates": [
                {
                    "conversation": {"id": cid, "selfUri": f"/api/v2/conversations/{cid}"},
                    "errorMessage": "Conversation not found",
                    "errorCode": "not.found",
                }
                for cid in missing
            ]
        }
    )
