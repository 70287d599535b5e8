"""A customer erased by the nightly purge who later comes back: the new conversations expire in their turn
and must be erased then, although the ledger already holds the subject as `verified`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from genesys_erasure.ledger import SubjectState
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS
from tests.genesys_erasure.steps.test_stale_lake_rerun import _nightly_run

EMAIL = "came.back@example.org"


def _allow_small_org(world) -> None:
    # the org holds just this customer: the purge-fraction guard would stop any run
    world.runtime.config = replace(world.runtime.config, max_purge_fraction=1.0)


def _subject_rows(world):
    return [row for row in world.runtime.ledger.rows_in_states(list(SubjectState))]


def test_customer_who_returned_after_the_erasure_is_erased_again_once_the_new_contact_expires(world):
    _allow_small_org(world)
    world.customer(EMAIL, days_ago=RETENTION_DAYS + 100)
    _nightly_run(world, "night-1", verify=True)
    [first] = _subject_rows(world)
    assert first.state is SubjectState.VERIFIED
    # the person calls again after the erasure; years later that contact is past retention too
    org = world.sandbox.org
    person = org.add_customer(emails=[EMAIL], phones=[], external_contact=False)
    org.add_conversation(person, media="email", direction="inbound", start=world.now + timedelta(days=1))
    org.clock.advance((RETENTION_DAYS + 30) * 86400)

    _nightly_run(world, "night-2", verify=True)

    again = world.runtime.ledger.get(first.subject_hash)  # (the org's seeded customer expired too)
    assert (again.state, again.run_id) == (SubjectState.VERIFIED, "night-2")
    assert len(again.request_ids) == 2  # a second GDPR request, for the data the person left since


def test_customer_erased_without_coming_back_is_not_submitted_again_years_later(world):
    _allow_small_org(world)
    world.customer(EMAIL, days_ago=RETENTION_DAYS + 100)
    _nightly_run(world, "night-1", verify=True)
    [first] = _subject_rows(world)
    world.sandbox.org.clock.advance((RETENTION_DAYS + 30) * 86400)

    _nightly_run(world, "night-2", verify=True)

    row = world.runtime.ledger.get(first.subject_hash)
    assert (row.state, row.run_id, row.request_ids) == (SubjectState.VERIFIED, "night-1", first.request_ids)
