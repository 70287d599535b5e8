"""What happens to the rows: erased subjects' rows go (or lose their personal columns), others stay."""

from __future__ import annotations

import pytest

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.warehouse.planning import ErasureSubjects
from tests.support.warehouse import (
    ALICE,
    ALICE_EVENT_IDS,
    ALL_EVENT_IDS,
    TRICKY_CONTACT,
    TRICKY_EMAIL,
    delete_table_mapping,
    event_ids,
    event_rows,
    events_table,
)

# They run on the local warehouse emulators (fakesnow, bqemulator): the slow tier.
pytestmark = pytest.mark.slow


def test_erased_subjects_rows_are_deleted_and_other_rows_untouched(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    before = {r["EVENT_ID"]: r for r in warehouse.rows("CONVERSATION_EVENTS")}

    warehouse.erase(warehouse.mapping([delete_table_mapping()]), ALICE)

    after = {r["EVENT_ID"]: r for r in warehouse.rows("CONVERSATION_EVENTS")}
    assert set(after) == ALL_EVENT_IDS - ALICE_EVENT_IDS
    assert all(after[event_id] == before[event_id] for event_id in after)


def test_hash_only_rows_are_matched_through_plain_sha256_and_keyed_hmac(warehouse, hasher):
    # ev-3 holds Alice only as EMAIL_SHA256, ev-4 only as PHONE_HMAC; Bob's ev-6 holds only his hashes.
    warehouse.seed(events_table(), event_rows(hasher))
    hash_columns = [
        {"name": "EMAIL_SHA256", "identifier": "email", "form": "sha256"},
        {"name": "PHONE_HMAC", "identifier": "phone", "form": "keyed_hmac"},
    ]

    warehouse.erase(warehouse.mapping([delete_table_mapping(columns=hash_columns)]), ALICE)

    assert event_ids(warehouse.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - {"ev-1", "ev-3", "ev-4"}


def test_redact_nulls_the_personal_columns_and_keeps_the_rows(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    table = {
        "name": "CONVERSATION_EVENTS",
        "action": "redact",
        "redact_columns": [
            "CUSTOMER_EMAIL",
            "CUSTOMER_PHONE",
            "EXTERNAL_CONTACT_ID",
            "EMAIL_SHA256",
            "PHONE_HMAC",
        ],
        "columns": [
            {"name": "CUSTOMER_EMAIL", "identifier": "email", "form": "raw"},
            {"name": "CUSTOMER_PHONE", "identifier": "phone", "form": "raw"},
            {"name": "EXTERNAL_CONTACT_ID", "identifier": "external_contact_id", "form": "raw"},
        ],
    }

    (result,) = warehouse.erase(warehouse.mapping([table]), ALICE)

    rows = {r["EVENT_ID"]: r for r in warehouse.rows("CONVERSATION_EVENTS")}
    assert set(rows) == ALL_EVENT_IDS
    redacted = ("CUSTOMER_EMAIL", "CUSTOMER_PHONE", "EXTERNAL_CONTACT_ID", "EMAIL_SHA256", "PHONE_HMAC")
    assert all(rows["ev-1"][c] is None for c in redacted)
    assert rows["ev-1"]["CONVERSATION_ID"] == "conv-alice-1"
    assert rows["ev-2"]["CUSTOMER_EMAIL"] == "bob@example.com"
    assert (result.rows_affected, result.rows_remaining) == (1, 0)


def test_values_with_quotes_and_sql_fragments_are_matched_as_data(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    tricky = ErasureSubjects(
        identifiers=(
            Identifier(IdentifierKind.EMAIL, TRICKY_EMAIL),
            Identifier(IdentifierKind.EXTERNAL_CONTACT, TRICKY_CONTACT),
        )
    )

    (result,) = warehouse.erase(warehouse.mapping([delete_table_mapping()]), tricky)

    assert event_ids(warehouse.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - {"ev-7"}
    assert warehouse.table_exists("CONVERSATION_EVENTS")
    assert result.rows_affected == 1


def test_rerun_after_a_complete_run_changes_nothing_and_still_verifies(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    conn = warehouse.mapping([delete_table_mapping()])
    warehouse.erase(conn, ALICE)

    (again,) = warehouse.erase(conn, ALICE)

    assert (again.rows_matched_before, again.rows_affected, again.rows_remaining) == (0, 0, 0)
    assert again.verified
    assert event_ids(warehouse.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - ALICE_EVENT_IDS


def test_snowflake_erasure_works_with_server_side_binding(snowflake_wh, hasher):
    # qmark binds on the server, so identifier values stay out of the statement text (and query history).
    snowflake_wh.seed(events_table(), event_rows(hasher))
    table = delete_table_mapping() | {"partition_filter": {"column": "EVENT_DATE", "lookback_days": 365}}
    connection = snowflake_wh.open(paramstyle="qmark")

    try:
        (result,) = snowflake_wh.erase(snowflake_wh.mapping([table]), ALICE, connection=connection)
    finally:
        connection.close()

    assert (result.rows_affected, result.rows_remaining) == (4, 0)
    assert event_ids(snowflake_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - ALICE_EVENT_IDS
