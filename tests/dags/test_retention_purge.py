"""The nightly retention purge end to end: `dag.test()` against the Genesys Cloud sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from genesys_erasure import signing
from genesys_erasure.evidence import verify_report
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import Ledger, SubjectPlan, SubjectSource
from genesys_erasure.steps.evidence import REVIEW_WARNINGS
from genesys_erasure.steps.subjects_api import gdpr_subject_body
from genesys_erasure.tasks.runtime import load_runtime
from tests.dags.conftest import PAST_DELETE_LAG_HOURS
from tests.support.privacy_scan import scan_paths

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _mentions(hook, conversation_ids, values) -> set[str]:
    """Which of `values` still appear anywhere in the analytics view of these conversations."""
    text = json.dumps(hook.get_conversations_details(conversation_ids)).lower()
    return {value for value in values if value.lower() in text}


def _states(report, subject_hashes) -> dict[str, str]:
    return {s["subject_hash"]: s["state"] for s in report["subjects"] if s["subject_hash"] in subject_hashes}


def _old(stack, years: float = 5.5):
    return stack.sandbox.org.clock.now() - timedelta(days=int(365 * years))


@pytest.fixture
def stack(purge_stack):
    return purge_stack()


def test_expired_customers_are_erased_verified_and_reported(stack):
    org = stack.sandbox.org
    cutoff = org.clock.now() - timedelta(days=1826 + 2)  # the configured retention, with a margin
    expired = [
        c
        for c in org.customers_where(activity="expired", has_active_conversation=False, placeholder=False)
        if org.last_contact(c) < cutoff
    ][:5]
    assert expired, "the seeded org has expired customers"
    run = stack.run(backfill=True)
    report = stack.report(run)
    assert run.state == "success"
    # lagging recording and contact deletes leave some subjects pending on the first night
    assert report["counts"]["verified"] + report["counts"]["erasure_pending"] >= len(expired)
    hook = stack.hook()
    for customer in expired:
        assert _mentions(hook, customer.conversation_ids, customer.emails + customer.phones) == set()
    assert verify_report(report, load_runtime({}).signing_key)

    pending = {s["subject_hash"] for s in report["subjects"] if s["state"] == "erasure_pending"}
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    later = stack.report(stack.run())
    # verified, or (pessimistic profile, real shapes) left for a person where no GDPR request reaches:
    # participant attributes, or a header shared with somebody not erased
    assert "verified" in set(_states(later, pending).values()) <= {"verified", "needs_review"}
    reasons = {
        s["reason"] for s in later["subjects"] if s["subject_hash"] in pending and s["state"] != "verified"
    }
    assert reasons <= {"participant_attributes_retained", "shared_with_person_not_erased"}
    assert verify_report(later, load_runtime({}).signing_key)


def test_recent_customers_agents_and_own_numbers_are_untouched(stack):
    org = stack.sandbox.org
    recent = org.customers_where(activity="recent")[:5]
    agent = sorted(org.agents.values(), key=lambda a: a.id)[0]
    dids = org.summary()["ownNumbers"]["dids"]
    stack.run(backfill=True)
    hook = stack.hook()
    for customer in recent:
        values = customer.emails + customer.phones
        assert _mentions(hook, customer.conversation_ids, values), "a recent customer kept their data"
    all_ids = [cid for customer in recent for cid in customer.conversation_ids]
    assert _mentions(hook, all_ids, dids), "the org's own numbers are still there"
    assert agent.id in json.dumps(hook.get_conversations_details(list(org.conversations)[:100]))


def test_fragmented_identity_is_erased_under_all_its_identifiers(stack):
    org = stack.sandbox.org
    person = org.add_customer(
        emails=["frag.mented@example.org"], phones=["+442079460123"], name="Frag Mented", fragmented=True
    )
    org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.8))
    org.add_conversation(person, media="voice", direction="inbound", start=_old(stack, 5.6))
    run = stack.run(backfill=True)
    assert run.state == "success"
    remaining = _mentions(stack.hook(), person.conversation_ids, ["frag.mented@example.org", "+442079460123"])
    assert remaining == set()


def test_dry_run_submits_nothing(stack):
    run = stack.run(backfill=True, dry_run=True)
    report = stack.report(run)
    assert run.state == "success"
    assert report["dry_run"] is True
    assert stack.gdpr_request_count() == 0
    assert report["counts"]["dry_run"] > 0


def test_rerun_submits_nothing_twice(stack):
    stack.run(backfill=True)
    after_first = stack.gdpr_request_count()
    second = stack.run(backfill=True)
    assert after_first > 0
    assert stack.gdpr_request_count() == after_first
    assert second.state == "success"


@pytest.mark.parametrize("external_contacts", [0, 2], ids=["email-only", "two-external-contacts"])
def test_crash_between_post_and_ledger_write_is_reconciled_not_reposted(stack, external_contacts):
    org = stack.sandbox.org
    person = org.add_customer(emails=["crash.victim@example.org"], phones=[], external_contact=False)
    org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.9))
    runtime = load_runtime({})
    identifiers = [Identifier(IdentifierKind.EMAIL, "crash.victim@example.org")] + [
        # the request body names one external contact, the ledger knows them all
        Identifier(IdentifierKind.EXTERNAL_CONTACT, f"00000000-0000-4000-8000-00000000000{n}")
        for n in range(external_contacts)
    ]
    plan = SubjectPlan.build(
        identifiers, hasher=runtime.hasher, sealer=runtime.sealer, source=SubjectSource.RETENTION
    )
    crashed_at = org.clock.now() - timedelta(hours=1)
    with Ledger.open(runtime.ledger_url) as ledger:
        ledger.plan([plan], "crashed-run", now=crashed_at)
        ledger.mark_submitting(plan.subject_hash, "crashed-run", now=crashed_at)
    posted = stack.hook().submit_gdpr_request("GDPR_DELETE", gdpr_subject_body(identifiers))
    # ...and the worker died here, before the ledger heard of the request.

    stack.run(backfill=True)
    with Ledger.open(runtime.ledger_url) as ledger:
        row = ledger.get(plan.subject_hash)
    assert row.request_ids == (posted["id"],)
    assert row.state.value == "verified"
    bodies = [r.get("subject", {}) for r in stack.hook().iter_gdpr_requests()]
    assert sum("crash.victim@example.org" in b.get("emailAddresses", []) for b in bodies) == 1


def test_active_conversation_subject_is_deferred_then_erased_by_a_later_run(stack):
    org = stack.sandbox.org
    person = org.add_customer(emails=["still.talking@example.org"], phones=[], external_contact=False)
    org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.9))
    stuck = org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.5), end=None)
    first = stack.run(backfill=True)
    planted = load_runtime({}).hasher.hash_identifier(
        Identifier(IdentifierKind.EMAIL, "still.talking@example.org")
    )
    deferred = [
        s
        for s in stack.report(first)["subjects"]
        if s["state"] == "deferred" and planted in {h["hash"] for h in s["identifier_hashes"]}
    ]
    assert len(deferred) == 1

    stack.hook().disconnect_conversation(stuck)
    subject = {deferred[0]["subject_hash"]}
    second = stack.run()
    # erased now; its recordings' deletes land later (the pessimistic profile), so pending until then
    assert _states(stack.report(second), subject) == dict.fromkeys(subject, "erasure_pending")
    assert _mentions(stack.hook(), person.conversation_ids, ["still.talking@example.org"]) == set()
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    assert _states(stack.report(stack.run()), subject) == dict.fromkeys(subject, "verified")


def test_protected_recording_is_reported_as_a_legal_hold_exemption(stack):
    org = stack.sandbox.org
    person = org.add_customer(emails=[], phones=["+442079460777"], external_contact=False)
    org.add_conversation(person, media="voice", direction="inbound", start=_old(stack, 5.7), protected=True)
    report = stack.report(stack.run(backfill=True))
    assert report["legal_hold_exemptions"], "the protected recording is listed as an exemption"


def test_report_signature_fails_when_one_byte_changes(stack):
    report = stack.report(stack.run(backfill=True, dry_run=True))
    # the public key the run published beside its report: all an auditor needs
    key = signing.load_public_keys(stack.home / "reports" / signing.CURRENT_KEY_FILE)
    assert report["signature_algorithm"] == "Ed25519" and report["signature_key_id"] in key
    assert verify_report(report, key)
    tampered = json.loads(json.dumps(report).replace('"dry_run": true', '"dry_run": false', 1))
    assert not verify_report(tampered, key)


def test_implausibly_shared_number_is_quarantined_not_submitted(stack):
    stack.configure(quarantine_conversation_threshold=10)
    org = stack.sandbox.org
    switchboard = "+442079460999"
    for number in range(12):
        person = org.add_customer(
            phones=[switchboard], emails=[], external_contact=False, name=f"Caller {number}"
        )
        org.add_conversation(
            person, media="voice", direction="inbound", start=_old(stack, 5.5 + number / 100)
        )
    report = stack.report(stack.run(backfill=True))
    assert report["counts"]["quarantined"] >= 1
    bodies = [r.get("subject", {}) for r in stack.hook().iter_gdpr_requests()]
    assert not any(switchboard in b.get("phoneNumbers", []) for b in bodies)


def test_bad_config_fails_the_first_task_before_any_call(stack):
    stack.configure(retention_days=30)  # below the 365-day floor
    run = stack.run(backfill=True)
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate_settings"] == "failed"
    assert states["find_expired_customers"] == "upstream_failed"
    assert stack.gdpr_request_count() == 0


def test_privacy_scan_finds_no_planted_identifier(stack, tmp_path):
    import os

    org = stack.sandbox.org
    planted = ["planted.person@example.org", "+442079461234", "Plantagenet Quux"]
    person = org.add_customer(emails=planted[:1], phones=planted[1:2], name=planted[2])
    org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.8))
    org.add_conversation(person, media="voice", direction="inbound", start=_old(stack, 5.7))
    run = stack.run(backfill=True)
    assert run.state == "success"
    hits = scan_paths([os.environ["AIRFLOW_HOME"], stack.home], planted)
    assert hits == [], f"planted identifiers found in: {sorted({str(h.path) for h in hits})}"


def test_genesys_error_is_resubmitted_once_then_verified(stack):
    org = stack.sandbox.org
    person = org.add_customer(emails=["unlucky.once@example.org"], phones=[], external_contact=False)
    org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.9))
    stack.sandbox.control.fail_next_gdpr_requests(3)
    run = stack.run(backfill=True)
    report = stack.report(run)
    assert run.state == "success"
    retried = [s for s in report["subjects"] if s["attempts"] == 2]
    assert len(retried) == 3 and all(s["state"] in ("verified", "erasure_pending") for s in retried)
    assert all(len(s["request_ids"]) == 2 for s in retried)
    # those pending on lagging deletes are verified by a later night, without a third request
    pending = {s["subject_hash"] for s in retried if s["state"] == "erasure_pending"}
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    later = [s for s in stack.report(stack.run())["subjects"] if s["subject_hash"] in pending]
    assert len(later) == len(pending)
    assert all(len(s["request_ids"]) == 2 for s in later)
    # verified, or (real shapes) left for a person where no request reaches: attributes, shared headers
    assert all(
        s["state"] == "verified" or (s["state"] == "needs_review" and s["reason"] in REVIEW_WARNINGS)
        for s in later
    )


def test_genesys_error_twice_fails_the_subjects_and_the_run_loudly(stack):
    stack.sandbox.control.fail_next_gdpr_requests(100_000)
    run = stack.run(backfill=True)
    report = stack.report(run)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed" and states["erasure.check_compliance"] == "failed"
    assert report["counts"]["failed"] > 0 and report["counts"]["verified"] == 0
    assert all(s["attempts"] == 2 for s in report["subjects"] if s["state"] == "failed")


def _requests_per_subject(stack) -> dict[str, int]:
    """How many GDPR requests Genesys holds for each subject body (asked of the sandbox, not the ledger)."""
    bodies = [json.dumps(r.get("subject", {}), sort_keys=True) for r in stack.hook().iter_gdpr_requests()]
    return {body: bodies.count(body) for body in set(bodies)}


def _failed_twice_by_genesys(stack) -> set[str]:
    """A first (backfill) night on which Genesys ends every request in ERROR: the subjects fail after the
    run's one resubmission (two POSTs each); then Genesys is healthy again."""
    stack.sandbox.control.fail_next_gdpr_requests(100_000)
    first = stack.report(stack.run(backfill=True))
    stack.sandbox.control.fail_next_gdpr_requests(0)
    failed = {s["subject_hash"] for s in first["subjects"] if s["state"] == "failed"}
    assert failed and all(s["attempts"] == 2 for s in first["subjects"] if s["subject_hash"] in failed)
    return failed


def test_the_next_nightly_run_posts_failed_subjects_again_and_verifies_them(stack):
    failed = _failed_twice_by_genesys(stack)

    second = stack.run()  # a scheduled-style night: incremental scan, no backfill

    retried = [s for s in stack.report(second)["subjects"] if s["subject_hash"] in failed]
    assert {s["subject_hash"] for s in retried} == failed
    assert all(s["attempts"] == 3 and len(s["request_ids"]) == 3 for s in retried)
    # lagging deletes are verified by a later night, without a fourth request
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    later = [s for s in stack.report(stack.run())["subjects"] if s["subject_hash"] in failed]
    assert all(
        s["state"] == "verified" or (s["state"] == "needs_review" and s["reason"] in REVIEW_WARNINGS)
        for s in later
    )
    assert max(_requests_per_subject(stack).values()) <= 3  # max_erasure_attempts


def test_failed_subjects_out_of_attempts_need_review_and_are_not_posted_again(stack):
    failed = _failed_twice_by_genesys(stack)
    stack.sandbox.control.fail_next_gdpr_requests(100_000)  # still failing on the second night

    second = stack.report(stack.run())
    posted_after_second = stack.gdpr_request_count()
    third = stack.run()

    assert {s["subject_hash"]: s["state"] for s in second["subjects"] if s["subject_hash"] in failed} == (
        dict.fromkeys(failed, "needs_review")
    )
    assert stack.gdpr_request_count() == posted_after_second
    assert third.state == "success"
    assert max(_requests_per_subject(stack).values()) == 3  # max_erasure_attempts, and no more


def test_idle_active_conversation_is_disconnected_when_configured_and_the_subject_erased(stack):
    stack.configure(disconnect_idle_active_after_days=30)
    org = stack.sandbox.org
    person = org.add_customer(emails=["stuck.forever@example.org"], phones=[], external_contact=False)
    stuck = org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.5), end=None)
    report = stack.report(stack.run(backfill=True))
    assert report["counts"]["deferred"] == 0
    assert stack.hook().get_conversation(stuck).get("endTime")
    assert _mentions(stack.hook(), person.conversation_ids, ["stuck.forever@example.org"]) == set()


def test_run_emits_an_asset_event_with_hashes_and_counts_only(stack):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    org = stack.sandbox.org
    person = org.add_customer(emails=["asset.watcher@example.org"], phones=[], external_contact=False)
    org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.9))
    run = stack.run(backfill=True)
    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == "genesys_gdpr_erasures", AssetEvent.source_run_id == run.run_id)
            .all()
        )
        extras = [event.extra for event in events]
    assert len(extras) == 1
    assert extras[0]["counts"]["verified"] == len(extras[0]["erased_subject_hashes"]) > 0
    assert "asset.watcher@example.org" not in json.dumps(extras)


def test_large_plan_waits_for_approval_that_shows_counts_only(stack):
    from airflow.models.hitl import HITLDetail
    from airflow.utils.session import create_session

    from genesys_devtools.approvals import APPROVE, answer_approval

    stack.configure(approval_threshold=0)
    with answer_approval(APPROVE, dag_id="genesys_retention_purge") as answered:
        run = stack.run(backfill=True)
    report = stack.report(run)
    assert answered["count"] == 1 and run.state == "success"
    approve = next(ti for ti in run.get_task_instances() if ti.task_id == "erasure.approve")
    with create_session() as session:
        body = session.get(HITLDetail, approve.id).body
    submitted = sum(1 for subject in report["subjects"] if subject["request_ids"])
    assert f"submit a GDPR request for **{submitted}** subjects" in body
    assert "@" not in body


def test_first_contact_run_waits_for_approval_and_submits_nothing_when_rejected(purge_stack):
    from genesys_devtools.approvals import REJECT, answer_approval

    stack = purge_stack(first_contact=True)  # no person has approved a run on this org yet
    stack.configure(approval_threshold=None)  # even with no threshold at all
    with answer_approval(REJECT, dag_id="genesys_retention_purge") as answered:
        stack.run(backfill=True)
    assert answered["count"] == 1, "the first run that would submit waited for a person"
    assert stack.gdpr_request_count() == 0


def test_first_contact_ends_with_the_first_approved_run(purge_stack):
    from genesys_devtools.approvals import APPROVE, answer_approval

    stack = purge_stack(first_contact=True)
    org = stack.sandbox.org
    # somebody the first night defers (an active conversation) and a later night submits
    person = org.add_customer(emails=["later.night@example.org"], phones=[], external_contact=False)
    org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.9))
    stuck = org.add_conversation(person, media="email", direction="inbound", start=_old(stack, 5.5), end=None)
    with answer_approval(APPROVE, dag_id="genesys_retention_purge") as answered:
        stack.run(backfill=True)
    first_night = stack.gdpr_request_count()
    assert answered["count"] == 1 and first_night > 0

    stack.hook().disconnect_conversation(stuck)
    with answer_approval(APPROVE, dag_id="genesys_retention_purge") as answered_later:
        later = stack.run()
    assert later.state == "success"
    assert stack.gdpr_request_count() == first_night + 1
    assert answered_later["count"] == 0, "once approved, a small nightly run goes straight on"


def test_subject_genesys_refuses_with_400_is_left_for_review_alone_while_the_rest_is_erased(stack):
    stack.sandbox.control.reject_next_gdpr_requests(1)
    run = stack.run(backfill=True)
    report = stack.report(run)
    # the same request would be refused again: not retried by a later night, but left for a person
    refused = [s for s in report["subjects"] if s["reason"] == "rejected_by_genesys:bad.request"]
    assert [(s["state"], s["request_ids"]) for s in refused] == [("needs_review", [])]
    # the rest of the batch went on: every other subject posted has its one request, none failed
    posted = [s for s in report["subjects"] if s["request_ids"]]
    assert len(posted) == stack.gdpr_request_count() > 0
    assert "failed" not in {s["state"] for s in posted}
    # and the run says so loudly (the compliance verdict fails it), with the evidence written
    assert run.state == "failed"
    assert verify_report(report, load_runtime({}).signing_key)
