"""The retention scan against identifiers the ledger already erased: contacts from before the erasure
(what a stale analytics lake still shows) are not planned again; a contact after it is new data."""

from __future__ import annotations

import uuid
from datetime import timedelta

from genesys_erasure.ledger import SubjectPlan, SubjectSource
from genesys_erasure.steps.scan import find_expired_customers, load_scan
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS


def _erased_at(world, identifier, days_ago: float) -> None:
    """The ledger holds `identifier` in a subject whose GDPR delete was posted `days_ago`."""
    runtime, at = world.runtime, world.now - timedelta(days=days_ago)
    plan = SubjectPlan.build(
        [identifier], hasher=runtime.hasher, sealer=runtime.sealer, source=SubjectSource.RETENTION
    )
    runtime.ledger.plan([plan], "earlier-run", now=at)
    runtime.ledger.mark_submitting(plan.subject_hash, "earlier-run", now=at)
    runtime.ledger.record_submission(plan.subject_hash, str(uuid.uuid4()), now=at)


def _expired_values(world, run_id: str) -> set[str]:
    return {entry["value"] for entry in load_scan(world.runtime, run_id)["expired"]}


def test_scan_skips_an_identifier_erased_after_its_last_contact(world):
    identifier, _ = world.customer("erased.before@example.org", days_ago=RETENTION_DAYS + 30)
    _erased_at(world, identifier, days_ago=1)

    counts = find_expired_customers(world.runtime, "scan-run", world.now)

    assert "erased.before@example.org" not in _expired_values(world, "scan-run")
    assert counts["erased_earlier_skipped"] == 1


def test_scan_finds_an_erased_identifier_again_when_it_had_a_contact_after_the_erasure(world):
    identifier, _ = world.customer("came.back@example.org", days_ago=RETENTION_DAYS + 30)
    _erased_at(world, identifier, days_ago=RETENTION_DAYS + 100)

    find_expired_customers(world.runtime, "scan-run", world.now)

    assert "came.back@example.org" in _expired_values(world, "scan-run")
