"""The ledger database as the Genesys clients' shared store (SQLite file, PostgreSQL when reachable): a
change sees and keeps the documents of its keys, and concurrent changes never lose one another's."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from genesys_erasure.ledger import create_ledger_engine
from genesys_erasure.ledger.client_state import LedgerClientState
from tests.support.erasure import BACKENDS, ledger_target_for


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    for target in ledger_target_for(request.param, tmp_path):
        engine = target if isinstance(target, Engine) else create_ledger_engine(target)
        yield engine
        engine.dispose()


def test_a_change_sees_absent_documents_empty_in_the_order_asked_and_its_edits_are_kept(engine):
    store = LedgerClientState(engine)

    def first(docs):
        docs[0]["n"], docs[1]["n"] = 1, 2
        return [dict(doc) for doc in docs]

    assert store.update(["b", "a"], lambda docs: [dict(doc) for doc in docs]) == [{}, {}]
    store.update(["b", "a"], first)
    assert store.update(["a", "b"], lambda docs: docs) == [{"n": 2}, {"n": 1}]
    assert LedgerClientState(engine).update(["b"], lambda docs: docs[0]) == {"n": 1}  # another process


def test_concurrent_changes_from_many_connections_lose_no_update(engine):
    store = LedgerClientState(engine)

    def add_one(docs):
        docs[0]["count"] = docs[0].get("count", 0) + 1
        docs[1]["count"] = docs[1].get("count", 0) + 1

    def worker(keys):
        for _ in range(20):
            store.update(keys, add_one)

    # opposite key orders: the store locks in one order, so two changes cannot wait on each other
    threads = [threading.Thread(target=worker, args=(keys,)) for keys in (["x", "y"], ["y", "x"]) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert store.update(["x", "y"], lambda docs: [doc["count"] for doc in docs]) == [80, 80]
