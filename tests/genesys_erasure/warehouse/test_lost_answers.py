"""The connection drops after the erase statement ran at the engine and before its answer reached the
client (tests/support/drop_proxy.py between the real client and fakesnow / bqemulator). A table's count
must never come from a second run of the statement, which finds nothing left and counts 0.

The redact action is used: its UPDATE changes values, so a second run is visible in the count only.
"""

from __future__ import annotations

import pytest
import snowflake.connector
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from snowflake.connector.errors import OperationalError

from tests.support.drop_proxy import DropProxy, bigquery_query_containing, snowflake_statement
from tests.support.warehouse import ALICE, ALICE_EMAIL, BOB_EMAIL, event_rows, events_table

pytestmark = pytest.mark.slow

REDACTED = ("CUSTOMER_EMAIL", "CUSTOMER_PHONE", "EXTERNAL_CONTACT_ID", "EMAIL_SHA256", "PHONE_HMAC")
REDACT_TABLE = {
    "name": "CONVERSATION_EVENTS",
    "action": "redact",
    "redact_columns": list(REDACTED),
    "columns": [
        {"name": "CUSTOMER_EMAIL", "identifier": "email", "form": "raw"},
        {"name": "CUSTOMER_PHONE", "identifier": "phone", "form": "raw"},
        {"name": "EXTERNAL_CONTACT_ID", "identifier": "external_contact_id", "form": "raw"},
    ],
}


def _by_event(rows: list[dict]) -> dict[str, dict]:
    return {row["EVENT_ID"]: row for row in rows}


def test_snowflake_update_whose_answer_is_lost_is_rolled_back_never_counted_as_zero(
    snowflake_wh, fakesnow_server, hasher
):
    snowflake_wh.seed(events_table(), event_rows(hasher))
    conn = snowflake_wh.mapping([REDACT_TABLE])
    with DropProxy(fakesnow_server.port) as proxy:
        params = fakesnow_server.connection_params(snowflake_wh.database, snowflake_wh.schema)
        connection = snowflake.connector.connect(**{**params, "port": proxy.port})
        proxy.drop(snowflake_statement("UPDATE"), when="after")
        try:
            with pytest.raises(OperationalError):
                snowflake_wh.erase(conn, ALICE, connection=connection)
        finally:
            connection.close()
        assert proxy.dropped.is_set() and proxy.matched == 1  # the UPDATE was sent once

    # its transaction was rolled back: the table is as it was, and the next attempt counts what it redacts
    assert _by_event(snowflake_wh.rows("CONVERSATION_EVENTS"))["ev-1"]["CUSTOMER_EMAIL"] == ALICE_EMAIL
    (result,) = snowflake_wh.erase(conn, ALICE)
    assert (result.rows_matched_before, result.rows_affected, result.rows_remaining) == (1, 1, 0)


def test_bigquery_update_whose_answer_is_lost_is_counted_from_the_job_that_ran(
    bigquery_wh, bq_emulator, hasher
):
    bigquery_wh.seed(events_table(), event_rows(hasher))
    with DropProxy(bq_emulator.port) as proxy:
        client = bigquery.Client(
            project=bq_emulator.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=proxy.endpoint),
        )
        proxy.drop(bigquery_query_containing("UPDATE `"), when="after")
        try:
            (result,) = bigquery_wh.erase(bigquery_wh.mapping([REDACT_TABLE]), ALICE, connection=client)
        finally:
            client.close()
        assert proxy.dropped.is_set()
        inserts = proxy.matched

    rows = _by_event(bigquery_wh.rows("CONVERSATION_EVENTS"))
    assert all(rows["ev-1"][column] is None for column in REDACTED)
    assert rows["ev-2"]["CUSTOMER_EMAIL"] == BOB_EMAIL
    assert (result.rows_matched_before, result.rows_affected, result.rows_remaining) == (1, 1, 0)
    assert inserts == 1  # the job was inserted once; its result was read from the job
