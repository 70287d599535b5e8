"""Real local warehouses for the warehouse tests: one fakesnow server and one bqemulator per session.

Each test gets its own Snowflake schema / BigQuery dataset, so tests never see each other's tables.
`warehouse` runs a test against both engines.
"""

from __future__ import annotations

import uuid

import pytest

from genesys_devtools.local_engines import (
    LocalBigQueryEmulator,
    LocalFakesnow,
)
from genesys_erasure.hashing import KeyedHasher
from tests.support.engines import require_bqemulator
from tests.support.warehouse import HASH_KEY, BigQueryUnderTest, SnowflakeUnderTest


@pytest.fixture(scope="session")
def hasher() -> KeyedHasher:
    return KeyedHasher(HASH_KEY)


@pytest.fixture(scope="session")
def fakesnow_server():
    with LocalFakesnow() as server:
        yield server


@pytest.fixture(scope="session")
def bq_emulator():
    require_bqemulator()
    with LocalBigQueryEmulator() as emulator:
        yield emulator


@pytest.fixture
def snowflake_wh(fakesnow_server, hasher):
    under_test = SnowflakeUnderTest(fakesnow_server, hasher, schema=f"T_{uuid.uuid4().hex[:10].upper()}")
    yield under_test
    under_test.close()


@pytest.fixture
def bigquery_wh(bq_emulator, hasher):
    under_test = BigQueryUnderTest(bq_emulator, hasher, dataset=f"t_{uuid.uuid4().hex[:10]}")
    yield under_test
    under_test.close()


@pytest.fixture(params=["snowflake", "bigquery"])
def warehouse(request):
    """The test runs once per engine."""
    return request.getfixturevalue(f"{request.param}_wh")
