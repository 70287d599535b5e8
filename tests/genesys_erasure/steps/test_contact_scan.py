"""One external-contact scan per step instead of a search per identifier (`contact_scan_from_lookups`):
planning links the same contacts, verification proves the same deletes, for a fixed number of calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.resolution import resolve_subjects
from genesys_erasure.steps.directory import GenesysSubjectDirectory, scan_contacts
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from genesys_erasure.verification import CONTACT_NOT_YET_DELETED, CONTACT_SEARCH_LAG
from genesys_sandbox.divisions import division_id
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, TINY_ORG, plan_request

RUN = "scan-run"
SEARCH = "GET /api/v2/externalcontacts/contacts"
BY_ID = "GET /api/v2/externalcontacts/contacts/{contactId}"
SCAN = "GET /api/v2/externalcontacts/scan/contacts"


def _org(**knobs):
    """The `world`'s org with sandbox knobs turned (parametrizing the `sandbox_settings` fixture)."""
    return pytest.mark.parametrize("sandbox_settings", [replace(TINY_ORG, **knobs)])


def _calls(world, endpoint: str) -> int:
    return world.sandbox.control.request_counts()["by_endpoint"].get(endpoint, 0)


def _scan_from(world, lookups: int | None) -> None:
    world.runtime.config = world.runtime.config.with_overrides({"contact_scan_from_lookups": lookups})


def _fragmented_people(world, count: int) -> list[Seed]:
    """`count` people, each with an old e-mail conversation and an external contact holding that e-mail,
    a second e-mail and a phone (the identity resolution must join); plus a namesake contact on the same
    domain that holds none of their values."""
    org = world.sandbox.org
    seeds = []
    for n in range(count):
        email = f"person{n}@scan.example"
        person = org.add_customer(
            emails=[email, f"p{n}.private@home.example"], phones=[f"+44770090{n:04d}"], name=f"Per Son{n}"
        )
        start = world.now - timedelta(days=RETENTION_DAYS + 100)
        conversation = org.add_conversation(person, media="email", start=start, contact_value=email)
        seeds.append(Seed(Identifier(IdentifierKind.EMAIL, email), (conversation,), 1))
    org.add_external_contact("Per Son0", ["person0.other@scan.example"], ["+447700919999"])
    return seeds


def test_planning_links_the_same_contacts_from_one_scan_as_from_a_search_per_identifier(world):
    seeds = [seed.identifier for seed in _fragmented_people(world, 5)]
    client, hasher = world.runtime.client, world.runtime.hasher
    searched = resolve_subjects(seeds, GenesysSubjectDirectory(client), hasher=hasher)
    searches = _calls(world, SEARCH) + _calls(world, BY_ID)

    snapshot, scan_calls = scan_contacts(client, len(seeds), scan_from=1)
    before = _calls(world, SEARCH) + _calls(world, BY_ID)
    scanned = resolve_subjects(seeds, GenesysSubjectDirectory(client, snapshot), hasher=hasher)

    assert scanned.to_purge == searched.to_purge
    assert all(len(subject.identifiers) == 4 for subject in scanned.to_purge)  # 2 e-mails, phone, contact
    assert scanned.unrelated_records == 0  # the namesake holds none of the values: never a candidate
    assert searches > 0 and _calls(world, SEARCH) + _calls(world, BY_ID) == before  # no search, no GET
    assert (scan_calls, _calls(world, SCAN)) == (1, 1)


def test_below_the_threshold_planning_searches_per_identifier_and_never_scans(world):
    _scan_from(world, 100)
    summary = plan_erasure(world.runtime, RUN, plan_request(*_fragmented_people(world, 2)), world.now)

    assert summary["subjects_planned"] == 2
    assert _calls(world, SCAN) == 0
    assert _calls(world, "GET /api/v2/gdpr/subjects") > 0


def _erased(world, seeds) -> None:
    summary = plan_erasure(world.runtime, RUN, plan_request(*seeds), world.now)
    submit_batch(world.runtime, RUN, [h for batch in summary["batches"] for h in batch])
    statuses = world.wait_until_done(request_ids_in_flight(world.runtime, RUN))
    settle_requests(world.runtime, RUN, statuses, world.now, allow_resubmit=True)


def test_verification_from_one_scan_verifies_erased_subjects_without_a_search(world):
    _scan_from(world, 1)
    _erased(world, _fragmented_people(world, 3))
    searches = _calls(world, SEARCH)

    counts = verify_completed(world.runtime, RUN, world.now)

    assert counts["verified"] == 3
    assert _calls(world, SEARCH) == searches
    assert _calls(world, SCAN) == 2  # one in planning, one in verification


@_org(gdpr_contact_delete_lag_hours=48.0)
def test_a_contact_the_scan_still_lists_with_the_value_keeps_the_subject_pending(world):
    _scan_from(world, 1)
    _erased(world, _fragmented_people(world, 2))

    counts = verify_completed(world.runtime, RUN, world.now)

    assert (counts["verified"], counts["erasure_pending"]) == (0, 2)
    reasons = {
        p["reason"] for row in world.runtime.ledger.rows_for_run(RUN) for p in row.verification["pending"]
    }
    assert reasons == {CONTACT_NOT_YET_DELETED}


@_org(contact_index_lag_hours=12.0)
def test_a_deleted_contact_the_scan_index_still_lists_is_lag_not_verified(world):
    _scan_from(world, 1)
    _erased(world, _fragmented_people(world, 1))

    counts = verify_completed(world.runtime, RUN, world.now)

    (row,) = world.runtime.ledger.rows_for_run(RUN)
    assert counts["erasure_pending"] == 1 and row.state is SubjectState.ERASURE_PENDING
    assert {p["reason"] for p in row.verification["pending"]} == {CONTACT_SEARCH_LAG}
    assert _calls(world, BY_ID) >= 1  # what the scan lists is read by id: 404 tells lag from a live contact


@_org(divisions="Home,Sales EU", role_divisions="Home", division_denial="403")
def test_a_scan_refused_for_divisions_falls_back_to_the_search_per_identifier(world):
    contact = world.sandbox.org.add_external_contact("Out Side", ["out@side.example"], [])
    contact.division_id = division_id("Sales EU")
    snapshot, calls = scan_contacts(world.runtime.client, lookups=500, scan_from=1)

    assert snapshot is None and calls == 1


def _customer_sharing_an_agents_email(world) -> Seed:
    """An expired customer whose e-mail is also a former agent's (staff: never erased by the purge)."""
    org = world.sandbox.org
    org.add_agent("Former Agent", "shared.desk@scan.example", active=False)
    person = org.add_customer(emails=["shared.desk@scan.example"], name="Shared Desk")
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    conversation = org.add_conversation(person, media="email", start=start)
    return Seed(Identifier(IdentifierKind.EMAIL, "shared.desk@scan.example"), (conversation,), 1)


def test_with_one_scan_a_customer_linked_to_a_former_agent_is_held_without_a_gdpr_subject_search(world):
    _scan_from(world, 1)
    seeds = [_customer_sharing_an_agents_email(world), *_fragmented_people(world, 2)]

    summary = plan_erasure(world.runtime, RUN, plan_request(*seeds), world.now)

    assert (summary["held_staff"], summary["subjects_planned"]) == (1, 2)
    assert _calls(world, "GET /api/v2/gdpr/subjects") == 0
    assert (_calls(world, "GET /api/v2/users"), _calls(world, SCAN)) == (1, 1)


@_org(denied_paths="GET /api/v2/users")
def test_when_users_cannot_be_listed_the_gdpr_subject_search_still_finds_staff(world):
    _scan_from(world, 1)

    summary = plan_erasure(
        world.runtime, RUN, plan_request(_customer_sharing_an_agents_email(world)), world.now
    )

    assert (summary["held_staff"], summary["subjects_planned"]) == (1, 0)
    assert _calls(world, "GET /api/v2/gdpr/subjects") >= 1
