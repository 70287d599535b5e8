"""The Airflow glue for the warehouses: Airflow connections (env-var style) -> real connector / client."""

from __future__ import annotations

import json
from datetime import date

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import service_account

from genesys_devtools.local_engines import (
    CONVERSATION_EVENTS,
    LocalBigQueryEmulator,
    LocalFakesnow,
    conversation_event_row,
    seed_bigquery_table,
    seed_snowflake_table,
)
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.tasks.warehouse_connections import (
    BigQueryConnectionError,
    ProtocolSnowflakeHook,
    bigquery_client_from_connection,
    bigquery_client_from_extras,
    open_warehouse,
)
from genesys_erasure.warehouse import ErasureSubjects, WarehouseMapping, erase_connection, require_verified
from tests.support.engines import require_bqemulator


@pytest.fixture(scope="module")
def fakesnow_server():
    with LocalFakesnow() as server:
        yield server


@pytest.fixture(scope="module")
def bq_emulator():
    require_bqemulator()
    with LocalBigQueryEmulator() as emulator:
        yield emulator


def _snowflake_connection(monkeypatch, conn_id: str, extra: dict) -> None:
    payload = {"conn_type": "snowflake", "login": "fake", "password": "fake", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(payload))


@pytest.mark.slow  # a local warehouse emulator
def test_snowflake_hook_reaches_fakesnow_over_http_with_the_protocol_extra(fakesnow_server, monkeypatch):
    _snowflake_connection(monkeypatch, "sf_wh_test", fakesnow_server.airflow_extras("ERASURE_HOOK", "PUBLIC"))

    connection = ProtocolSnowflakeHook(snowflake_conn_id="sf_wh_test").get_conn()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT ? + 1", (41,))  # qmark: bound on the server, the hook's default
        assert cursor.fetchone()[0] == 42
    finally:
        connection.close()


def test_snowflake_hook_without_a_protocol_extra_leaves_the_connector_default(monkeypatch):
    _snowflake_connection(monkeypatch, "sf_wh_plain", {"account": "acme-xy12345"})

    assert "protocol" not in ProtocolSnowflakeHook(snowflake_conn_id="sf_wh_plain")._get_conn_params()


def test_snowflake_hook_binds_on_the_server_unless_the_connection_says_otherwise(monkeypatch):
    _snowflake_connection(monkeypatch, "sf_wh_default", {"account": "acme"})
    _snowflake_connection(monkeypatch, "sf_wh_client", {"account": "acme", "paramstyle": "pyformat"})

    assert (
        ProtocolSnowflakeHook(snowflake_conn_id="sf_wh_default")._get_conn_params()["paramstyle"] == "qmark"
    )
    assert (
        ProtocolSnowflakeHook(snowflake_conn_id="sf_wh_client")._get_conn_params()["paramstyle"] == "pyformat"
    )


def test_snowflake_hook_rejects_a_protocol_other_than_http_or_https(monkeypatch):
    _snowflake_connection(monkeypatch, "sf_wh_bad", {"account": "acme", "protocol": "ftp"})

    with pytest.raises(ValueError, match="'protocol' must be http or https"):
        ProtocolSnowflakeHook(snowflake_conn_id="sf_wh_bad").get_conn()


@pytest.mark.slow  # a local warehouse emulator
def test_bigquery_client_for_an_emulator_connection_queries_the_emulator(bq_emulator, monkeypatch):
    payload = {"conn_type": "generic", "extra": bq_emulator.airflow_extras()}
    monkeypatch.setenv("AIRFLOW_CONN_BQ_WH_TEST", json.dumps(payload))

    client = bigquery_client_from_connection("bq_wh_test")

    assert isinstance(client._credentials, AnonymousCredentials)
    (row,) = client.query("SELECT 6 * 7 AS answer").result()
    assert row["answer"] == 42


def test_bigquery_connection_without_credentials_or_endpoint_is_refused():
    with pytest.raises(BigQueryConnectionError, match="no credentials"):
        bigquery_client_from_extras({"project": "acme-analytics"}, "bq")


def test_anonymous_credentials_are_refused_for_the_real_bigquery_endpoint():
    extras = {"project": "acme-analytics", "endpoint": "https://bigquery.googleapis.com"}

    with pytest.raises(BigQueryConnectionError, match="only for an emulator"):
        bigquery_client_from_extras(extras, "bq")


def _service_account_info() -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "acme-analytics",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "erasure@acme-analytics.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def test_service_account_keyfile_gives_service_account_credentials_and_its_project():
    client = bigquery_client_from_extras({"keyfile_dict": json.dumps(_service_account_info())}, "bq")

    assert isinstance(client._credentials, service_account.Credentials)
    assert client.project == "acme-analytics"


def test_unusable_keyfile_is_refused_without_echoing_the_key():
    info = _service_account_info() | {"private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-key\n"}

    with pytest.raises(BigQueryConnectionError) as error:
        bigquery_client_from_extras({"keyfile_dict": info}, "bq")

    assert "not-a-key" not in str(error.value)
    assert "keyfile_dict" in str(error.value)


def _mapping_for_both(dataset: str) -> WarehouseMapping:
    table = {
        "name": "CONVERSATION_EVENTS",
        "columns": [
            {"name": "CUSTOMER_EMAIL", "identifier": "email"},
            {"name": "PHONE_HMAC", "identifier": "phone", "form": "keyed_hmac"},
        ],
    }
    return WarehouseMapping.from_dict(
        {
            "connections": [
                {"name": "sf", "type": "snowflake", "airflow_conn_id": "sf_wh_e2e", "database": "HOOK_E2E",
                 "schema": "EVENTS", "tables": [table]},
                {"name": "bq", "type": "bigquery", "airflow_conn_id": "bq_wh_e2e", "dataset": dataset,
                 "tables": [table]},
            ]
        }
    )  # fmt: skip


@pytest.mark.slow  # a local warehouse emulator
def test_airflow_connections_drive_the_erasure_in_both_warehouses(fakesnow_server, bq_emulator, monkeypatch):
    hasher = KeyedHasher(b"hook-e2e-key-0123456789abcdef")
    people = [("ann@example.com", "+15550100"), ("ben@example.com", "+15550111")]
    rows = [
        conversation_event_row(f"ev-{n}", f"conv-{n}", date(2026, 11, 1), email=email, phone=phone,
                               external_contact_id=None, hasher=hasher)
        for n, (email, phone) in enumerate(people)
    ]  # fmt: skip
    admin = fakesnow_server.connect()
    seed_snowflake_table(admin, "HOOK_E2E", "EVENTS", CONVERSATION_EVENTS, rows)
    admin.close()
    seed_bigquery_table(bq_emulator.client(), "hook_e2e", CONVERSATION_EVENTS, rows)
    _snowflake_connection(monkeypatch, "sf_wh_e2e", fakesnow_server.airflow_extras("HOOK_E2E", "EVENTS"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_BQ_WH_E2E", json.dumps({"conn_type": "generic", "extra": bq_emulator.airflow_extras()})
    )
    ann = ErasureSubjects(identifiers=(Identifier(IdentifierKind.PHONE, "+15550100"),))

    results = []
    for conn in _mapping_for_both("hook_e2e").connections:
        with open_warehouse(conn) as handle:
            results += erase_connection(handle, conn, ann, hasher)

    assert [(r.connection, r.rows_affected, r.rows_remaining) for r in results] == [
        ("sf", 1, 0),
        ("bq", 1, 0),
    ]
    require_verified(results)
