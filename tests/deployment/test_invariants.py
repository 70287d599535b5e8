"""The fault suite's invariant checker (tests/support/invariants.py) catches what it is there to catch:
each check is fed a broken world and must name the subject (by hash prefix) and what is wrong, never an
identifier. Fast: a SQLite ledger with the two tables the checker reads, requests as Genesys holds them."""

from __future__ import annotations

import contextlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from genesys_erasure import signing
from genesys_erasure.evidence import sign_document
from genesys_sandbox import SandboxSettings
from tests.support import invariants
from tests.support.deployment import PG_HOST, PG_MAINTENANCE_DB, PG_PORT, PG_USER, unavailable_reason

A, B = "a" * 64, "b" * 64
COMPLETED_AT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # sandbox time
SETTLE = timedelta(hours=72)


def _ledger(tmp_path, subjects, requests) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE erasure_subjects (subject_hash TEXT, state TEXT, run_id TEXT, "
                             "last_request_id TEXT, last_genesys_status TEXT)"))  # fmt: skip
        conn.execute(sa.text("CREATE TABLE erasure_requests (subject_hash TEXT, request_id TEXT, "
                             "attempt INTEGER, recorded_at TEXT)"))  # fmt: skip
        for row in subjects:
            conn.execute(sa.text("INSERT INTO erasure_subjects VALUES (:h, :s, :r, :l, :g)"), row)
        for attempt, (subject_hash, request_id) in enumerate(requests):
            conn.execute(
                sa.text("INSERT INTO erasure_requests VALUES (:h, :r, :a, '2026-01-01')"),
                {"h": subject_hash, "r": request_id, "a": attempt},
            )
    engine.dispose()
    return url


def _request(request_id, status, email, completed_date=None):
    return SimpleNamespace(
        id=request_id, status=status, subject={"emailAddresses": [email]}, completed_date=completed_date
    )


def test_a_ledger_before_its_first_run_knows_no_subject(tmp_path):
    assert invariants.known_subjects(f"sqlite:///{tmp_path / 'empty.sqlite'}") == set()
    url = _ledger(tmp_path, [{"h": A, "s": "verified", "r": "run", "l": None, "g": None}], [])
    assert invariants.known_subjects(url) == {A}


def test_a_subject_left_half_way_is_named_by_hash_and_state(tmp_path):
    url = _ledger(tmp_path, [{"h": A, "s": "submitting", "r": "run", "l": None, "g": None}], [])
    problems = invariants.states_settled(invariants.read_ledger(url))
    assert problems == [f"subject {A[:12]}… (state submitting) left half-way"]


def test_two_live_requests_for_one_subject_are_a_duplicate_but_a_resubmitted_error_is_not(tmp_path):
    subjects = [{"h": A, "s": "verified", "r": "run", "l": "r2", "g": "COMPLETED"}]
    ledger = invariants.read_ledger(_ledger(tmp_path, subjects, [(A, "r1"), (A, "r2")]))
    resubmitted = [_request("r1", "ERROR", "x@example.org"), _request("r2", "COMPLETED", "x@example.org")]
    assert invariants.no_duplicate_requests(resubmitted, ledger) == []
    twice = [_request("r1", "COMPLETED", "x@example.org"), _request("r2", "DELETING", "x@example.org")]
    (problem,) = invariants.no_duplicate_requests(twice, ledger)
    assert problem == f"subject {A[:12]}… (state verified): 2 live GDPR requests: r1, r2"


def test_a_subject_still_pending_after_its_deletes_landed_is_named_by_hash_and_state(tmp_path):
    subjects = [{"h": A, "s": "erasure_pending", "r": "run", "l": "r1", "g": "COMPLETED"}]
    ledger = invariants.read_ledger(_ledger(tmp_path, subjects, [(A, "r1")]))
    held = [_request("r1", "COMPLETED", "x@example.org", completed_date=COMPLETED_AT)]
    rechecked_from = COMPLETED_AT + SETTLE + timedelta(hours=1)
    problems = invariants.unsettled_past_deadline(ledger, held, rechecked_from=rechecked_from, settle=SETTLE)
    assert problems == [
        f"subject {A[:12]}… (state erasure_pending) not final: its request r1 completed 73 h before the run "
        "that re-checked it (every delete lands within 72 h)"
    ]


def test_a_subject_pending_while_its_deletes_may_still_land_is_not_reported(tmp_path):
    subjects = [
        {"h": A, "s": "erasure_pending", "r": "run", "l": "r1", "g": "COMPLETED"},
        {"h": B, "s": "verified", "r": "run", "l": "r2", "g": "COMPLETED"},
    ]
    ledger = invariants.read_ledger(_ledger(tmp_path, subjects, [(A, "r1"), (B, "r2")]))
    held = [
        _request("r1", "COMPLETED", "x@example.org", completed_date=COMPLETED_AT),
        _request("r2", "COMPLETED", "y@example.org", completed_date=COMPLETED_AT - timedelta(days=9)),
    ]
    rechecked_from = COMPLETED_AT + SETTLE - timedelta(minutes=1)
    assert (
        invariants.unsettled_past_deadline(ledger, held, rechecked_from=rechecked_from, settle=SETTLE) == []
    )


def test_the_pessimistic_profile_lands_every_delete_within_72_hours():
    # the contact's delete lag (48 h) and then the search index listing it a day longer
    pessimistic = SandboxSettings.for_profile("pessimistic")
    assert invariants.settling_time(pessimistic) == timedelta(hours=72)
    assert invariants.settling_time(SandboxSettings()) == timedelta(0)


def test_a_request_the_ledger_never_recorded_and_a_disagreeing_status_are_reported(tmp_path):
    subjects = [{"h": A, "s": "verified", "r": "run", "l": "r1", "g": "COMPLETED"}]
    url = _ledger(tmp_path, subjects, [(A, "r1")])
    held = [_request("r1", "ERROR", "x@example.org"), _request("orphan", "COMPLETED", "y@example.org")]
    problems = invariants.ledger_agrees_with_sandbox(invariants.read_ledger(url), held)
    assert "GDPR request orphan (COMPLETED) is in no subject's ledger history" in problems
    assert f"subject {A[:12]}… (state verified): ledger says COMPLETED, Genesys says ERROR" in problems
    assert f"subject {A[:12]}… (state verified): verified, but its request ended ERROR" in problems


def test_a_report_listing_a_subject_twice_or_in_another_state_names_the_subjects(tmp_path):
    subjects = [
        {"h": A, "s": "verified", "r": "run", "l": "r1", "g": "COMPLETED"},
        {"h": B, "s": "failed", "r": "run", "l": "r2", "g": "COMPLETED"},
    ]
    ledger = invariants.read_ledger(_ledger(tmp_path, subjects, [(A, "r1"), (B, "r2")]))
    key = signing.private_key_from_text(signing.generate_private_key_pem())
    entries = [(A, "verified", ["r1"]), (A, "verified", ["r1"]), (B, "verified", ["r2"])]
    report = {"subjects": [{"subject_hash": h, "state": s, "request_ids": r} for h, s, r in entries]}
    path = tmp_path / "reports" / "erasure-report-run.json"
    path.parent.mkdir()
    path.write_text(json.dumps(sign_document(report, key)), encoding="utf-8")
    signing.publish_public_key(path.parent, key)
    problems = invariants.report_agrees_with_ledger(path, "run", ledger)
    assert problems == [
        f"the report lists subject {A[:12]}… (state verified) more than once",
        f"subject {B[:12]}… (state failed): the report says verified",
    ]


def test_a_missing_report_is_reported(tmp_path):
    assert invariants.report_agrees_with_ledger(tmp_path / "none.json", "run", {}) == [
        "no signed report for run run"
    ]


def test_an_identifier_in_any_text_column_of_a_postgresql_database_is_found(tmp_path):
    reason = unavailable_reason()
    if reason and "PostgreSQL" in reason:
        pytest.skip(f"needs a local PostgreSQL server: {reason}")
    name = f"invariants_{secrets.token_hex(4)}"
    server = f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}"
    admin = sa.create_engine(f"{server}/{PG_MAINTENANCE_DB}", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{server}/{name}"
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE dag_run (id int, conf jsonb, note varchar(100))"))
            conn.execute(sa.text("""INSERT INTO dag_run VALUES (1, '{"to": "Dana@Example.org"}', NULL)"""))
        engine.dispose()
        dump = tmp_path / "dump"
        dump.mkdir()
        invariants.dump_database_text(url, dump)
        hits = invariants.scan_paths([dump], ["dana@example.org", "+442079460999"])
        assert {(h.path.name, h.needle_index) for h in hits} == {("public.dag_run.txt", 0)}
    finally:
        with admin.connect() as conn, contextlib.suppress(sa.exc.DBAPIError):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
