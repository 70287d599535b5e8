"""The last-contact index across nights, against a sandbox org: built once, then each night only the new
days are read; candidates with a later contact, under any linked identifier, stay; missed nights, late
conversations, configuration changes and erasures are handled; no raw value is stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectPlan, SubjectSource
from genesys_erasure.ledger.schema import last_contacts, ledger_meta
from genesys_erasure.steps.last_contacts import RecentContacts
from genesys_erasure.steps.plan_requests import plan_retention_purge
from genesys_erasure.steps.scan import WATERMARK_MARKER, find_expired_customers, load_scan, parse_instant
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS

DAY = timedelta(days=1)
HISTORY_CONVERSATIONS = 30
MORNING_HOUR = 6


@pytest.fixture(autouse=True)
def _six_in_the_morning(world) -> None:
    """Start every test at 06:00 UTC on the sandbox clock. The index counts a contact on the cutoff's day as
    recent, so a contact planted half a day after tonight's cutoff only expires tomorrow if it falls on
    the day before tomorrow's cutoff; started in the afternoon it would fall on that day itself, and the
    tests would say something else after 12:00."""
    now = world.now
    morning = now.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    if morning <= now:
        morning += DAY
    world.sandbox.org.clock.advance((morning - now).total_seconds())


def _night(world, run_id: str) -> dict:
    return find_expired_customers(world.runtime, run_id, world.now)


def _next_night(world, counts: dict, days: float = 1) -> None:
    """What happens between two nights: the evidence step moves the candidate watermark to the night's
    cutoff (a real run), and time passes."""
    world.runtime.workspace().set_marker(WATERMARK_MARKER, counts["cutoff"])
    world.sandbox.org.clock.advance(days * DAY.total_seconds())


def _history(world) -> None:
    """Customers with contacts spread over the retention window, none of them recent enough to be re-read."""
    org = world.sandbox.org
    for n in range(HISTORY_CONVERSATIONS):
        person = org.add_customer(emails=[f"history.{n}@example.org"], external_contact=False)
        org.add_conversation(person, media="email", start=world.now - (30 + n * 50) * DAY)


def _expiring_tomorrow(world, email: str):
    """A customer whose only old conversation crosses the retention cutoff between tonight and tomorrow."""
    org = world.sandbox.org
    person = org.add_customer(emails=[email], external_contact=False)
    org.add_conversation(person, media="email", start=world.now - (RETENTION_DAYS - 0.5) * DAY)
    return person


def _expired(world, run_id: str) -> set[str]:
    return {entry["value"] for entry in load_scan(world.runtime, run_id)["expired"]}


def _recent(world, counts: dict, identifier: Identifier) -> bool:
    return identifier in RecentContacts(
        world.runtime.last_contacts, world.runtime.hasher, parse_instant(counts["cutoff"])
    )


def _email(value: str) -> Identifier:
    return Identifier(IdentifierKind.EMAIL, value)


def test_a_night_after_the_backfill_reads_only_the_days_that_became_available(world):
    _history(world)
    first = _night(world, "night-1")
    _next_night(world, first)
    person = world.sandbox.org.add_customer(emails=["new.today@example.org"], external_contact=False)
    world.sandbox.org.add_conversation(person, media="email")

    second = _night(world, "night-2")

    assert first["last_contact_index"]["conversations_read"] >= HISTORY_CONVERSATIONS
    assert second["last_contact_index"]["rebuilt"] is None
    assert parse_instant(second["last_contact_index"]["fold_start"]) == parse_instant(
        first["last_contact_index"]["fold_end"]
    ) - timedelta(days=world.runtime.config.scan_overlap_days)
    # the conversations of the last few days only (tonight's, and the org's own that the overlap and the
    # day-wide detail query read again), none of the history
    in_window = [c for c in world.sandbox.org.conversations.values() if c.start >= world.now - 5 * DAY]
    assert second["last_contact_index"]["conversations_read"] <= 2 * len(in_window) < HISTORY_CONVERSATIONS
    assert _recent(world, second, _email("history.0@example.org"))  # known from the backfill


def test_a_candidate_with_a_later_contact_the_index_knows_from_an_earlier_night_is_not_expired(world):
    person = _expiring_tomorrow(world, "came.back@example.org")
    world.sandbox.org.add_conversation(person, media="email", start=world.now - 100 * DAY)
    first = _night(world, "night-1")
    _next_night(world, first)

    second = _night(world, "night-2")

    assert "came.back@example.org" not in _expired(world, "night-2")
    assert second["candidates_recent_in_index"] == 1


def test_a_candidate_whose_linked_phone_called_within_the_retention_is_held_after_the_backfill(world):
    org = world.sandbox.org
    person = org.add_customer(phones=["+447700900321"], name="Returning Caller")
    org.add_conversation(person, start=world.now - (RETENTION_DAYS - 0.5) * DAY, show_external_contact=True)
    org.add_conversation(person, start=world.now - 100 * DAY, show_external_contact=False)
    first = _night(world, "night-1")
    _next_night(world, first)
    second = _night(world, "night-2")
    contact = Identifier(IdentifierKind.EXTERNAL_CONTACT, person.external_contact_id)
    assert contact.value in _expired(world, "night-2")  # the scenario: only the contact id expired

    summary = plan_retention_purge(world.runtime, "night-2", world.now, scan_counts=second)

    assert summary["to_submit"] == 0
    assert summary["held_recent_contact"] == 1
    assert world.gdpr_requests() == []


def test_a_contact_made_during_missed_nights_is_folded_when_the_nights_resume(world):
    person = _expiring_tomorrow(world, "called.meanwhile@example.org")
    first = _night(world, "night-1")
    world.sandbox.org.add_conversation(person, media="email", start=world.now + 0.5 * DAY)
    _next_night(world, first, days=4)  # three nights missed

    second = _night(world, "night-2")

    assert "called.meanwhile@example.org" not in _expired(world, "night-2")
    assert _recent(world, second, _email("called.meanwhile@example.org"))


def test_a_conversation_landing_late_in_the_lake_within_the_overlap_is_folded(world):
    person = _expiring_tomorrow(world, "late.arrival@example.org")
    first = _night(world, "night-1")
    folded_until = parse_instant(first["last_contact_index"]["fold_end"])
    # landed after night 1 read the lake, dated before what night 1 folded up to
    world.sandbox.org.add_conversation(person, media="email", start=folded_until - 0.5 * DAY)
    _next_night(world, first)

    second = _night(world, "night-2")

    assert "late.arrival@example.org" not in _expired(world, "night-2")
    assert _recent(world, second, _email("late.arrival@example.org"))


def test_a_changed_phone_region_rebuilds_the_index_over_the_whole_retention_window(world):
    _history(world)
    first = _night(world, "night-1")
    _next_night(world, first)
    world.runtime.config = replace(world.runtime.config, default_phone_region="DE")

    second = _night(world, "night-2")

    assert "default_phone_region" in second["last_contact_index"]["rebuilt"]
    assert second["last_contact_index"]["conversations_read"] >= HISTORY_CONVERSATIONS


def test_a_longer_retention_rebuilds_the_index_and_a_shorter_one_does_not(world):
    _history(world)
    first = _night(world, "night-1")
    _next_night(world, first)
    config = world.runtime.config

    world.runtime.config = replace(config, retention_days=RETENTION_DAYS - 100)
    shorter = _night(world, "night-2")
    world.runtime.config = replace(config, retention_days=RETENTION_DAYS + 100)
    longer = _night(world, "night-3")

    assert shorter["last_contact_index"]["rebuilt"] is None
    assert "longer retention" in longer["last_contact_index"]["rebuilt"]


def _record_erasure(world, identifier: Identifier) -> None:
    """The ledger records a GDPR delete of `identifier` posted now (the sandbox org still shows the
    conversations: the analytics lake's stale copy)."""
    runtime = world.runtime
    plan = SubjectPlan.build(
        [identifier], hasher=runtime.hasher, sealer=runtime.sealer, source=SubjectSource.DSR
    )
    runtime.ledger.plan([plan], "dsr-run", now=world.now)
    runtime.ledger.mark_submitting(plan.subject_hash, "dsr-run", now=world.now)
    runtime.ledger.record_submission(plan.subject_hash, "request-1", now=world.now)


def test_an_erased_identifier_leaves_the_index_and_the_stale_lake_does_not_bring_it_back(world):
    identifier, _ = world.customer("asked.to.go@example.org", days_ago=1)
    first = _night(world, "night-1")
    assert _recent(world, first, identifier)
    world.sandbox.org.clock.advance(3600)
    _record_erasure(world, identifier)
    _next_night(world, first)

    second = _night(world, "night-2")  # the lake still shows the conversation, within the overlap

    assert not _recent(world, second, identifier)
    assert second["last_contact_index"]["erased_stale_skipped"] == 1
    assert second["last_contact_index"]["forgotten_erased"] == 1


def test_a_contact_after_the_erasure_puts_the_identifier_back_in_the_index(world):
    identifier, _ = world.customer("came.back.after@example.org", days_ago=1)
    first = _night(world, "night-1")
    world.sandbox.org.clock.advance(3600)
    _record_erasure(world, identifier)
    person = next(c for c in world.sandbox.org.customers.values() if identifier.value in c.emails)
    world.sandbox.org.add_conversation(person, media="email", start=world.now + 0.2 * DAY)
    _next_night(world, first)

    second = _night(world, "night-2")

    assert _recent(world, second, identifier)


def test_the_index_holds_keyed_hashes_and_days_never_a_raw_value(world):
    org = world.sandbox.org
    person = org.add_customer(emails=["Planted.Person@example.org"], phones=["+447700900999"])
    org.add_conversation(person, media="voice", start=world.now - 10 * DAY)
    org.add_conversation(person, media="email", start=world.now - 20 * DAY)
    _night(world, "night-1")

    with world.runtime.last_contacts._engine.connect() as conn:
        stored = repr(conn.execute(select(last_contacts)).all()) + repr(
            conn.execute(select(ledger_meta)).all()
        )

    assert world.runtime.hasher.hash_identifier(_email("planted.person@example.org")) in stored
    for needle in ("planted.person", "example.org", "7700900999", person.external_contact_id):
        assert needle.lower() not in stored.lower()
