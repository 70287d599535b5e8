"""The fault suite's invariant checker (tests/support/invariants.py) catches what it is there to catch:
each check is fed a broken world and must name the subject (by hash prefix) and what is wrong, never an
identifier. Fast: a SQLite ledger with the two tables the checker reads, requests as Genesys holds them."""

from __future__ import annotations

import contextlib
import secrets
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests.support import invariants
from tests.support.deployment import PG_HOST, PG_MAINTENANCE_DB, PG_PORT, PG_USER, unavailable_reason

A, B = "a" * 64, "b" * 64


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


def _request(request_id, status, email):
    return SimpleNamespace(id=request_id, status=status, subject={"emailAddresses": [email]})


def test_a_subject_left_half_way_is_named_by_hash_and_state(tmp_path):
    url = _ledger(tmp_path, [{"h": A, "s": "submitting", "r": "run", "l": None, "g": None}], [])
    problems = invariants.states_settled(invariants.read_ledger(url))
    assert problems == [f"subject {A[:12]}… (state submitting) left half-way"]


def test_two_live_requests_for_one_subject_are_a_duplicate_but_a_resubmitted_error_is_not():
    resubmitted = [_request("r1", "ERROR", "x@example.org"), _request("r2", "COMPLETED", "x@example.org")]
    assert invariants.no_duplicate_requests(resubmitted) == []
    twice = [_request("r1", "COMPLETED", "x@example.org"), _request("r2", "DELETING", "x@example.org")]
    (problem,) = invariants.no_duplicate_requests(twice)
    assert "r1, r2" in problem and "x@example.org" not in problem


def test_a_request_the_ledger_never_recorded_and_a_disagreeing_status_are_reported(tmp_path):
    subjects = [{"h": A, "s": "verified", "r": "run", "l": "r1", "g": "COMPLETED"}]
    url = _ledger(tmp_path, subjects, [(A, "r1")])
    held = [_request("r1", "ERROR", "x@example.org"), _request("orphan", "COMPLETED", "y@example.org")]
    problems = invariants.ledger_agrees_with_sandbox(invariants.read_ledger(url), held)
    assert "GDPR request orphan (COMPLETED) is in no subject's ledger history" in problems
    assert f"subject {A[:12]}… (state verified): ledger says COMPLETED, Genesys says ERROR" in problems
    assert f"subject {A[:12]}… (state verified): verified, but its request ended ERROR" in problems


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
