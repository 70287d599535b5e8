"""Verification reads a conversation's recording metadata only where a recording may exist: a voice
conversation the analytics details show unrecorded costs no call, and everything else is still read."""

from __future__ import annotations

from datetime import timedelta

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, plan_request

RUN = "recording-run"
METADATA = "GET /api/v2/conversations/{conversationId}/recordingmetadata"


def _metadata_reads(world) -> int:
    return world.sandbox.control.request_counts()["by_endpoint"].get(METADATA, 0)


def _erase(world, phone: str, conversations: list[dict]) -> list[str]:
    """A customer with these conversations (add_conversation options), planned, erased and settled."""
    org = world.sandbox.org
    person = org.add_customer(phones=[phone], external_contact=False)
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    ids = [org.add_conversation(person, start=start, **options) for options in conversations]
    seed = Seed(Identifier(IdentifierKind.PHONE, phone), tuple(ids), len(ids))
    summary = plan_erasure(world.runtime, RUN, plan_request(seed), world.now)
    submit_batch(world.runtime, RUN, [h for batch in summary["batches"] for h in batch])
    statuses = world.wait_until_done(request_ids_in_flight(world.runtime, RUN))
    settle_requests(world.runtime, RUN, statuses, world.now, allow_resubmit=True)
    return ids


def test_an_unrecorded_voice_call_costs_no_recording_read_and_the_subject_is_still_verified(world):
    _erase(
        world,
        "+447700900555",
        [
            {"media": "voice", "recording": False},
            {"media": "voice", "recording": True},
            {"media": "message", "recording": False},  # the audio flag says nothing about transcripts
        ],
    )
    before = _metadata_reads(world)

    counts = verify_completed(world.runtime, RUN, world.now)

    assert counts["verified"] == 1
    assert _metadata_reads(world) - before == 2
    (row,) = world.runtime.ledger.rows_for_run(RUN)
    assert row.verification["recordings_checked"] == 1  # the recorded call's recording, read and deleted


def test_a_recording_the_delete_left_on_a_recorded_call_still_fails_verification(world):
    (recorded,) = _erase(world, "+447700900556", [{"media": "voice", "recording": True}])
    for recording in world.sandbox.org.conversations[recorded].recordings:
        recording.file_state, recording.delete_date = "AVAILABLE", None  # the delete did not reach it

    counts = verify_completed(world.runtime, RUN, world.now)

    assert counts["failed"] + counts["needs_review"] == 1
    (row,) = world.runtime.ledger.rows_for_run(RUN)
    assert [f["conversation_id"] for f in row.verification["recording_findings"]] == [recorded]
