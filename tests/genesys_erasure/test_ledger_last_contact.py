"""The last-contact index's table (`ledger.last_contact`), on SQLite and PostgreSQL: what a fold keeps,
what leaves, and what a rebuild replaces."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from genesys_erasure.ledger import create_ledger_engine
from genesys_erasure.ledger.last_contact import ContactEntry, LastContactIndex
from tests.support.erasure import T0, drive_to_completed, identifier_hash_set, plan_for

FINGERPRINT = {"format": "1", "default_phone_region": "GB"}
DAY = T0.date()
POSTED = T0 + timedelta(minutes=2)  # when drive_to_completed records the submission


@pytest.fixture
def index(ledger, ledger_target):
    """The index on the ledger's database (opened after the ledger, as the runtime does)."""
    engine = ledger_target if isinstance(ledger_target, Engine) else create_ledger_engine(ledger_target)
    yield LastContactIndex(engine)
    if engine is not ledger_target:
        engine.dispose()


def _built(index: LastContactIndex, *entries: ContactEntry) -> LastContactIndex:
    index.rebuild(
        entries, fingerprint=FINGERPRINT, watermark=T0, complete_from=DAY - timedelta(days=30), now=T0
    )
    return index


def test_a_fold_keeps_the_later_of_two_contact_days(index):
    _built(index, ContactEntry("a", DAY), ContactEntry("b", DAY))

    index.fold(
        [ContactEntry("a", DAY + timedelta(days=2)), ContactEntry("b", DAY - timedelta(days=5))],
        watermark=T0 + timedelta(days=1),
        now=T0 + timedelta(days=1),
    )

    found = index.lookup(["a", "b"])
    assert (found["a"].last_contact_day, found["b"].last_contact_day) == (DAY + timedelta(days=2), DAY)


def test_the_watermark_never_moves_back(index):
    _built(index)

    index.fold([], watermark=T0 - timedelta(days=3), now=T0)

    assert index.state().watermark == T0


def test_a_conversation_seen_active_no_longer_counts_as_active_once_a_fold_sees_it_ended(index):
    _built(index, ContactEntry("a", DAY, active=True))

    index.fold([ContactEntry("a", DAY, active=False)], watermark=T0, now=T0)

    assert index.lookup(["a"])["a"].active is False


def test_prune_drops_entries_before_the_cutoff_day_unless_a_conversation_is_still_active(index):
    old = DAY - timedelta(days=10)
    _built(
        index, ContactEntry("gone", old), ContactEntry("active", old, active=True), ContactEntry("kept", DAY)
    )

    assert index.prune(DAY) == 1

    assert set(index.lookup(["gone", "active", "kept"])) == {"active", "kept"}
    assert index.state().complete_from == DAY


def test_recent_among_leaves_out_own_numbers_and_older_days(index):
    _built(
        index,
        ContactEntry("recent", DAY),
        ContactEntry("older", DAY - timedelta(days=1), active=True),
        ContactEntry("own", DAY, own_number=True),
    )

    assert index.recent_among(["recent", "older", "own", "unknown"], DAY) == {"recent"}


def test_a_rebuild_replaces_every_entry_and_the_fingerprint(index):
    _built(index, ContactEntry("before", DAY))

    index.rebuild(
        [ContactEntry("after", DAY)],
        fingerprint={**FINGERPRINT, "default_phone_region": "DE"},
        watermark=T0,
        complete_from=DAY,
        now=T0,
    )

    assert set(index.lookup(["before", "after"])) == {"after"}
    assert index.state().fingerprint["default_phone_region"] == "DE"


def test_an_erased_identifier_leaves_unless_a_fold_wrote_it_after_the_erasure(ledger, index):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    erased, written_later = sorted(identifier_hash_set())[:2]
    _built(index, ContactEntry(erased, DAY), ContactEntry(written_later, DAY), ContactEntry("stranger", DAY))
    index.fold([ContactEntry(written_later, DAY)], watermark=T0, now=POSTED + timedelta(hours=1))

    assert index.forget_erased(ledger.erased_identifier_hashes) == 1

    assert set(index.lookup([erased, written_later, "stranger"])) == {written_later, "stranger"}


def test_count_of_customers_leaves_out_own_numbers_and_attribute_only_sightings_when_asked(index):
    _built(
        index,
        ContactEntry("direct", DAY),
        ContactEntry("attribute", DAY, direct=False),
        ContactEntry("own", DAY, own_number=True),
    )

    assert (index.count(), index.count(direct_only=True)) == (2, 1)


def test_an_index_never_built_has_no_state(index):
    state = index.state()

    assert (state.watermark, state.fingerprint, state.complete_from) == (None, None, None)


def test_a_fold_of_many_entries_at_once_writes_them_all(index):
    _built(index)
    entries = [ContactEntry(f"h{n:05d}", date(2026, 1, 1) + timedelta(days=n % 60)) for n in range(2500)]

    assert index.fold(entries, watermark=T0, now=T0) == 2500

    assert index.count() == 2500
