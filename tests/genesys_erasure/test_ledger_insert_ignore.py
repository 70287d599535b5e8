"""`insert_ignore` tells an inserted row from a conflict on every driver a deployment may use."""

from __future__ import annotations

import importlib.util
import uuid

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, text

from genesys_erasure.ledger.sql import insert_ignore
from tests.support.erasure import _postgres_listening


def _engine(driver: str, tmp_path):
    if driver == "sqlite":
        return create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}"), None
    if importlib.util.find_spec(driver) is None:
        pytest.skip(f"the PostgreSQL driver {driver} is not installed in this environment")
    if not _postgres_listening():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    url = f"postgresql+{driver}://postgres@127.0.0.1:5432/test"
    schema = f"insert_ignore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"}), (admin, schema)


@pytest.mark.parametrize("driver", ["sqlite", "psycopg", "psycopg2"])
def test_insert_ignore_reports_an_insert_and_a_conflict_on_every_driver(driver, tmp_path):
    # psycopg 3 answers rowcount -1 to INSERT … ON CONFLICT DO NOTHING: counting rows said "not inserted"
    engine, cleanup = _engine(driver, tmp_path)
    meta = MetaData()
    table = Table("items", meta, Column("key", String(16), primary_key=True), Column("value", String(16)))
    try:
        with engine.begin() as conn:
            meta.create_all(conn)
            assert insert_ignore(conn, table, {"key": "a", "value": "first"}) is True
            assert insert_ignore(conn, table, {"key": "a", "value": "second"}) is False
            assert conn.execute(table.select()).all() == [("a", "first")]
    finally:
        engine.dispose()
        if cleanup:
            admin, schema = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
