"""Ledger fixtures shared by the ledger, reconciliation and external-erasure tests: every test that asks
for `ledger` runs on SQLite and, where a server is reachable, on PostgreSQL (a throw-away schema)."""

from __future__ import annotations

import pytest

from genesys_erasure.ledger import Ledger
from tests.support.erasure import BACKENDS, ledger_target_for


@pytest.fixture(params=BACKENDS)
def ledger_target(request, tmp_path):
    yield from ledger_target_for(request.param, tmp_path)


@pytest.fixture
def ledger(ledger_target):
    with Ledger.open(ledger_target) as opened:
        yield opened
