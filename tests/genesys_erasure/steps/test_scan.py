"""The retention scan against a sandbox org: who is expired, who is not."""

from __future__ import annotations

from genesys_erasure.steps.scan import find_expired_customers, load_scan
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS


def _expired_values(world, run_id: str) -> set[str]:
    return {entry["value"] for entry in load_scan(world.runtime, run_id)["expired"]}


def test_scan_finds_a_customer_whose_last_contact_is_older_than_the_retention(world):
    world.customer("long.gone@example.org", days_ago=RETENTION_DAYS + 30)

    find_expired_customers(world.runtime, "scan-run", world.now)

    assert "long.gone@example.org" in _expired_values(world, "scan-run")


def test_scan_does_not_find_a_customer_with_a_recent_contact(world):
    world.customer("still.here@example.org", days_ago=10)

    find_expired_customers(world.runtime, "scan-run", world.now)

    assert "still.here@example.org" not in _expired_values(world, "scan-run")


def test_scan_does_not_find_a_customer_with_an_old_and_a_recent_contact(world):
    identifier, _ = world.customer("came.back@example.org", days_ago=RETENTION_DAYS + 30)
    person = next(c for c in world.sandbox.org.customers.values() if identifier.value in c.emails)
    world.sandbox.org.add_conversation(person, media="email", direction="inbound")  # an hour ago

    find_expired_customers(world.runtime, "scan-run", world.now)

    assert "came.back@example.org" not in _expired_values(world, "scan-run")


def test_scan_result_reaches_xcom_as_counts_only(world):
    world.customer("long.gone@example.org", days_ago=RETENTION_DAYS + 30)

    counts = find_expired_customers(world.runtime, "scan-run", world.now)

    assert counts["expired_identifiers"] >= 1
    assert "long.gone@example.org" not in repr(counts)
