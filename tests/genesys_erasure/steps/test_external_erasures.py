"""The request listener against the sandbox: a GDPR delete of our own whose POST answer was lost (the
row still `submitting`) must not be taken for an external erasure, or it would be posted a second time."""

from __future__ import annotations

from genesys_erasure.ledger import SubjectState
from genesys_erasure.ledger.records import unseal_raw_forms
from genesys_erasure.steps.external_erasures import record_external_erasures
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.reconcile import sent_body
from genesys_erasure.steps.submit import submit_batch
from tests.genesys_erasure.steps.conftest import plan_request

S = SubjectState


def _lost_submission(world) -> tuple[str, str]:
    """A subject whose delete was POSTed and COMPLETED at Genesys while the run died before recording it.
    Its body names a stored form that reads as another address, so Genesys' copy of the subject is not
    the ledger's identifier set (as with several contact ids, of which the body holds one)."""
    runtime = world.runtime
    identifier, conversation_id = world.customer("lost@example.org", days_ago=3000)
    seed = Seed(
        identifier,
        conversation_ids=(conversation_id,),
        conversation_count=1,
        raw_forms=("Lost <lost+work@example.org>",),
    )
    summary = plan_erasure(runtime, "lost-run", plan_request(seed), world.now)
    [subject_hash] = [h for batch in summary["batches"] for h in batch]
    row = runtime.ledger.mark_submitting(subject_hash, "lost-run")
    token = runtime.ledger.sealed_identifiers(subject_hash)
    assert unseal_raw_forms(runtime.sealer, token)
    posted = runtime.client.submit_gdpr_request(
        row.request_type, sent_body(runtime, token, row.request_type), None
    )
    world.wait_until_done([posted["id"]])
    return subject_hash, posted["id"]


def test_the_listener_leaves_our_own_lost_request_to_reconciliation_so_it_is_posted_once(world):
    runtime = world.runtime
    subject_hash, request_id = _lost_submission(world)

    counts = record_external_erasures(runtime, "listener-1", world.now)
    submit_batch(runtime, "lost-run", [subject_hash], is_retry=True)

    row = runtime.ledger.get(subject_hash)
    assert len(world.gdpr_requests()) == 1
    assert (row.state, row.last_request_id) == (S.SUBMITTED, request_id)
    assert counts["recorded"] == 0


def test_the_listener_still_records_an_external_delete_while_one_of_ours_is_in_flight(world):
    runtime = world.runtime
    _lost_submission(world)
    with world.hook() as hook:
        other = hook.submit_gdpr_request(
            "GDPR_DELETE", {"emailAddresses": ["admin-erased@example.org"]}, None
        )
    world.wait_until_done([other["id"]])

    counts = record_external_erasures(runtime, "listener-1", world.now)

    assert (counts["recorded"], counts["left_to_reconciliation"]) == (1, 1)
