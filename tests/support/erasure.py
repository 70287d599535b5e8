"""Shared test material for the ledger, verification and evidence tests: keys, a planted subject, ledger
back-ends (SQLite file always; PostgreSQL on 127.0.0.1:5432 when reachable AND a driver is installed)."""

from __future__ import annotations

import importlib.util
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import Ledger, SubjectPlan, SubjectSource
from genesys_erasure.sealing import IdentifierSealer
from genesys_erasure.verification import VerificationResult

HMAC_KEY = b"test-hmac-key-0123456789abcdef!!"
SEALING_KEY = bytes(range(32))
HASHER = KeyedHasher(HMAC_KEY)
SEALER = IdentifierSealer(SEALING_KEY)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Planted identifiers: distinctive enough that any hit in a file is a leak, never a coincidence.
PLANTED_EMAIL = "zelda.quarantino@planted-example.org"
PLANTED_PHONE = "+447700900317"
PLANTED_CONTACT_ID = "5f0d3c1e-7a2b-4c8d-9e6f-0a1b2c3d4e5f"


def identifiers(n: int = 0) -> list[Identifier]:
    """The planted subject (n=0) or another distinct subject."""
    if n == 0:
        return [
            Identifier(IdentifierKind.EMAIL, PLANTED_EMAIL),
            Identifier(IdentifierKind.PHONE, PLANTED_PHONE),
        ]
    return [
        Identifier(IdentifierKind.EMAIL, f"person{n}@planted-example.org"),
        Identifier(IdentifierKind.PHONE, f"+4477009004{n:02d}"),
    ]


def needles(n: int = 0) -> list[str]:
    return [i.value for i in identifiers(n)]


def plan_for(n: int = 0, **overrides) -> SubjectPlan:
    options = {"hasher": HASHER, "sealer": SEALER, "source": SubjectSource.RETENTION, **overrides}
    return SubjectPlan.build(identifiers(n), **options)


def identifier_hash_set(n: int = 0) -> frozenset[str]:
    return frozenset(HASHER.hash_identifier(i) for i in identifiers(n))


def clean_result() -> VerificationResult:
    return VerificationResult(ok=True, conversations_checked=2, recordings_checked=1)


def drive_to_completed(ledger: Ledger, plan: SubjectPlan, run_id: str, request_id: str) -> None:
    ledger.plan([plan], run_id, now=T0)
    ledger.mark_submitting(plan.subject_hash, run_id, now=T0 + timedelta(minutes=1))
    ledger.record_submission(plan.subject_hash, request_id, status="INITIATED", now=T0 + timedelta(minutes=2))
    ledger.record_status(plan.subject_hash, request_id, "COMPLETED", now=T0 + timedelta(hours=3))


def drive_to_verified(ledger: Ledger, plan: SubjectPlan, run_id: str, request_id: str) -> None:
    drive_to_completed(ledger, plan, run_id, request_id)
    ledger.mark_verified(plan.subject_hash, clean_result(), now=T0 + timedelta(hours=4))


DUE = date(2026, 3, 20)


# ---- ledger back-ends -------------------------------------------------------------------------------


def _postgres_dialect() -> str | None:
    for module, dialect in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return dialect
    return None


def _postgres_listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


BACKENDS = ("sqlite", "postgresql")


def ledger_target_for(backend: str, tmp_path: Path) -> Iterator[str | Engine]:
    """What `Ledger.open` is given: a SQLite URL, or a PostgreSQL engine bound to a throw-away schema.
    Use from a fixture: `yield from ledger_target_for(request.param, tmp_path)`."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        return
    dialect = _postgres_dialect()
    if dialect is None:
        pytest.skip("no PostgreSQL driver (psycopg or psycopg2) is installed in this environment")
    if not _postgres_listening():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{dialect}://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 refused the test connection ({type(exc.orig).__name__})")
    engine = create_engine(
        f"{dialect}://postgres@127.0.0.1:5432/test", connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
