"""Participant attributes (flow data: a typed e-mail or callback number) are verified from the live
conversation view, or the evidence says, per reason, for how many conversations they were not."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import requests

from genesys_erasure.evidence import build_run_report
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, TINY_ORG, plan_request

S = SubjectState
EMAIL = "typed.in.the.ivr@example.org"
LAG_HOURS = 48
KEEPS_ATTRIBUTES = {"gdpr_delete_keeps_attributes": True}
LIVE_VIEW = "/api/v2/conversations/{conversationId}"


@pytest.fixture
def sandbox_settings(request) -> object:
    return dataclasses.replace(TINY_ORG, **getattr(request, "param", {}))


def _seed_with_attribute(world) -> Seed:
    """An expired customer whose one e-mail conversation also carries the address in participant data."""
    org = world.sandbox.org
    person = org.add_customer(emails=[EMAIL], phones=[], external_contact=False)
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    conversation_id = org.add_conversation(
        person, media="email", start=start, attributes={"customer.email": EMAIL, "ivr.language": "en"}
    )
    identifier = Identifier(IdentifierKind.EMAIL, EMAIL)
    return Seed(identifier, conversation_ids=(conversation_id,), conversation_count=1)


def _erase(world, run_id: str, seed: Seed) -> None:
    summary = plan_erasure(world.runtime, run_id, plan_request(seed), world.now)
    submit_batch(world.runtime, run_id, [h for batch in summary["batches"] for h in batch])
    statuses = world.wait_until_done(request_ids_in_flight(world.runtime, run_id))
    settle_requests(world.runtime, run_id, statuses, world.now, allow_resubmit=True)


def _row(world):
    [row] = world.runtime.ledger.rows_in_states(list(S))
    return row


def _attributes(row) -> dict:
    return row.verification["participant_attributes"]


@pytest.mark.parametrize(
    "sandbox_settings", [KEEPS_ATTRIBUTES], ids=["delete_keeps_attributes"], indirect=True
)
def test_value_left_in_a_participant_attribute_is_not_reported_verified_and_not_resubmitted(world):
    seed = _seed_with_attribute(world)
    _erase(world, "run-1", seed)

    counts = verify_completed(world.runtime, "run-1", world.now)

    row = _row(world)
    assert (counts["verified"], row.state, row.reason) == (
        0,
        S.NEEDS_REVIEW,
        "participant_attributes_retained",
    )
    [finding] = row.verification["conversation_findings"]
    assert finding["fields"] == ["live.participants[].attributes.*"]
    # a person must clear the participant data: the next run plans no second request for the subject
    summary = plan_erasure(world.runtime, "run-2", plan_request(seed), world.now)
    assert (summary["to_submit"], len(world.gdpr_requests())) == (0, 1)


def test_attribute_cleared_by_the_delete_is_verified_and_counted_as_checked(world):
    _erase(world, "run-1", _seed_with_attribute(world))

    verify_completed(world.runtime, "run-1", world.now)

    row = _row(world)
    assert row.state is S.VERIFIED
    assert _attributes(row) == {"conversations_checked": 1, "not_verified": {}, "absent_when_planned": 0}


def _turn_check_off(world) -> None:
    world.runtime.config = world.runtime.config.with_overrides({"verify_participant_attributes": False})


def _remove_conversation(world) -> None:
    with world.sandbox.org.lock:
        world.sandbox.org.conversations.pop(_row(world).conversation_ids[0])


@pytest.mark.parametrize(
    ("sandbox_settings", "unreadable", "reason"),
    [
        ({**KEEPS_ATTRIBUTES, "denied_paths": f"GET {LIVE_VIEW}"}, None, "permission_denied"),
        (KEEPS_ATTRIBUTES, _turn_check_off, "check_disabled"),
        (KEEPS_ATTRIBUTES, _remove_conversation, "conversation_not_found"),
    ],
    ids=["403", "setting_off", "404"],
    indirect=["sandbox_settings"],
)
def test_attributes_that_could_not_be_read_are_reported_not_verified_with_the_reason(
    world, unreadable, reason
):
    _erase(world, "run-1", _seed_with_attribute(world))
    if unreadable:
        unreadable(world)

    verify_completed(world.runtime, "run-1", world.now)

    row = _row(world)
    assert row.state is S.VERIFIED
    assert _attributes(row) == {
        "conversations_checked": 0,
        "not_verified": {reason: 1},
        "absent_when_planned": 0,
    }
    report = build_run_report(run_id="run-1", rows=[row], parameters={}, generated_at=world.now)
    assert report["participant_attributes"]["not_verified"] == [
        {"reason": reason, "conversations": 1, "subjects": 1}
    ]


@pytest.mark.parametrize(
    "sandbox_settings",
    [{**KEEPS_ATTRIBUTES, "gdpr_recording_delete_lag_hours": LAG_HOURS}],
    ids=["keeps_attributes_recording_lags"],
    indirect=True,
)
def test_attributes_are_read_once_the_other_checks_pass_and_not_before(world):
    _erase(world, "run-1", _seed_with_attribute(world))

    verify_completed(world.runtime, "run-1", world.now)
    row = _row(world)
    assert row.state is S.ERASURE_PENDING
    assert _attributes(row) == {
        "conversations_checked": 0,
        "not_verified": {"other_checks_not_passed": 1},
        "absent_when_planned": 0,
    }
    assert _live_view_reads(world) == 0

    answer = requests.post(
        f"{world.sandbox.base_url}/sandbox/faults",
        json={"advance_clock_seconds": (LAG_HOURS + 1) * 3600},
        timeout=10,
    )
    answer.raise_for_status()
    verify_completed(world.runtime, "run-2", world.now)

    row = _row(world)
    assert (row.state, _attributes(row)["conversations_checked"]) == (S.NEEDS_REVIEW, 1)
    assert _live_view_reads(world) == 1  # one GET per conversation of the subject, once


def _live_view_reads(world) -> int:
    return world.sandbox.control.request_counts()["by_endpoint"].get(f"GET {LIVE_VIEW}", 0)


def _expired_customer(world, email: str, attributes: dict | None) -> None:
    org = world.sandbox.org
    person = org.add_customer(emails=[email], phones=[], external_contact=False)
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    org.add_conversation(person, media="email", start=start, attributes=attributes)


def _purged_by_the_nightly_scan(world, run_id: str) -> None:
    """The nightly path: the scan's jobs (which carry attributes) feed the plan, then erase and settle."""
    from genesys_erasure.steps.plan_requests import plan_retention_purge
    from genesys_erasure.steps.scan import find_expired_customers

    world.runtime.config = world.runtime.config.with_overrides({"max_purge_fraction": 1.0})
    counts = find_expired_customers(world.runtime, run_id, world.now)
    summary = plan_retention_purge(world.runtime, run_id, world.now, scan_counts=counts)
    submit_batch(world.runtime, run_id, [h for batch in summary["batches"] for h in batch])
    statuses = world.wait_until_done(request_ids_in_flight(world.runtime, run_id))
    settle_requests(world.runtime, run_id, statuses, world.now, allow_resubmit=True)


def test_only_conversations_the_scan_saw_with_attributes_are_read_from_the_live_view(world):
    _expired_customer(world, EMAIL, {"customer.email": EMAIL})
    _expired_customer(world, "no.flow.data@example.org", None)
    _purged_by_the_nightly_scan(world, "nightly")
    before = _live_view_reads(world)

    counts = verify_completed(world.runtime, "nightly", world.now)

    assert counts["verified"] == 2
    assert _live_view_reads(world) - before == 1
    rows = world.runtime.ledger.rows_for_run("nightly")
    assert sorted(
        (_attributes(r)["conversations_checked"], _attributes(r)["absent_when_planned"]) for r in rows
    ) == [
        (0, 1),
        (1, 0),
    ]


@pytest.mark.parametrize(
    "sandbox_settings", [KEEPS_ATTRIBUTES], ids=["delete_keeps_attributes"], indirect=True
)
def test_a_value_the_delete_left_in_attributes_is_still_found_on_the_nightly_path(world):
    _expired_customer(world, EMAIL, {"customer.email": EMAIL})
    _purged_by_the_nightly_scan(world, "nightly")

    verify_completed(world.runtime, "nightly", world.now)

    (row,) = world.runtime.ledger.rows_for_run("nightly")
    assert (row.state, row.reason) == (S.NEEDS_REVIEW, "participant_attributes_retained")
