"""The request listener against the sandbox: a GDPR delete of our own whose POST answer was lost (the
row still `submitting`) must not be taken for an external erasure, or it would be posted a second time;
an erasure a dead listener run recorded is verified by the next run; a dry run records nothing."""

from __future__ import annotations

from genesys_erasure.ledger import SubjectState
from genesys_erasure.ledger.records import unseal_raw_forms
from genesys_erasure.steps.external_erasures import record_external_erasures
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.reconcile import sent_body
from genesys_erasure.steps.submit import submit_batch
from genesys_erasure.steps.verify import verify_completed
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


def _erased_outside(world, email: str) -> str:
    """A customer an administrator erased in the Genesys UI: a completed GDPR_DELETE of ours it is not."""
    world.customer(email, days_ago=30)
    with world.hook() as hook:
        posted = hook.submit_gdpr_request("GDPR_DELETE", {"emailAddresses": [email]}, None)
    world.wait_until_done([posted["id"]])
    return posted["id"]


def test_the_next_listener_run_takes_over_and_verifies_an_erasure_a_dead_run_recorded(world):
    runtime = world.runtime
    _erased_outside(world, "admin.erased@example.org")
    assert record_external_erasures(runtime, "listener-dead", world.now)["recorded"] == 1
    [row] = runtime.ledger.rows_for_run("listener-dead")
    # ...and that run died before its verify task: nothing else would ever verify this subject

    found = record_external_erasures(runtime, "listener-next", world.now)
    verified = verify_completed(runtime, "listener-next", world.now)

    after = runtime.ledger.get(row.subject_hash)
    assert (after.state, after.run_id) == (S.VERIFIED, "listener-next")
    assert verified["verified"] == 1
    assert (found["recorded"], found["adopted_from_earlier_runs"]) == (0, 1)


def test_a_dry_run_listener_records_nothing_so_the_next_real_run_records_the_erasure(world, monkeypatch):
    runtime = world.runtime
    _erased_outside(world, "admin.erased@example.org")
    monkeypatch.setattr(runtime, "config", runtime.config.with_overrides({"dry_run": True}))

    dry = record_external_erasures(runtime, "listener-dry", world.now)

    assert runtime.ledger.rows_for_run("listener-dry") == []
    assert (dry["recorded"], dry["would_record"]) == (0, 1)
    monkeypatch.setattr(runtime, "config", runtime.config.with_overrides({"dry_run": False}))
    assert record_external_erasures(runtime, "listener-real", world.now)["recorded"] == 1
