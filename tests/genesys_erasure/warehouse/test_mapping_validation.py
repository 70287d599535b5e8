"""A bad mapping is refused with a message naming file, connection, table and column, before any statement
changes a mapped table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from genesys_erasure.warehouse.mapping import MappingError, WarehouseMapping, load_mapping
from tests.support.warehouse import (
    ALICE,
    ALL_EVENT_IDS,
    RecordingBigQueryClient,
    RecordingSnowflakeConnection,
    delete_table_mapping,
    event_ids,
    event_rows,
    events_table,
)

# They run on the local warehouse emulators (fakesnow, bqemulator): the slow tier.
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]


def _recording(warehouse):
    if warehouse.kind == "snowflake":
        return RecordingSnowflakeConnection(warehouse.open())
    return RecordingBigQueryClient(warehouse.open())


def _changing_statements(recorder) -> list[str]:
    texts = recorder.statements if hasattr(recorder, "statements") else recorder.queries
    verbs = ("DELETE", "UPDATE", "INSERT", "CREATE", "DROP", "BEGIN", "DECLARE")
    return [t for t in texts if t.lstrip().upper().startswith(verbs)]


def test_missing_table_is_reported_before_any_statement_and_the_tables_stay_intact(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    conn = warehouse.mapping([delete_table_mapping(), delete_table_mapping(name="NO_SUCH_TABLE")])
    recorder = _recording(warehouse)

    with pytest.raises(MappingError) as error:
        warehouse.erase(conn, ALICE, connection=recorder)

    assert "test-mapping.yaml" in str(error.value)
    assert "table 'NO_SUCH_TABLE': table not found" in str(error.value)
    assert _changing_statements(recorder) == []
    assert event_ids(warehouse.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS


def test_unknown_column_is_reported_before_any_statement_and_the_table_stays_intact(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    columns = [
        {"name": "CUSTOMER_EMAIL", "identifier": "email"},
        {"name": "FAX_NUMBER", "identifier": "phone"},
    ]
    conn = warehouse.mapping([delete_table_mapping(columns=columns)])
    recorder = _recording(warehouse)

    with pytest.raises(MappingError) as error:
        warehouse.erase(conn, ALICE, connection=recorder)

    (problem,) = error.value.problems
    assert (problem.table, problem.column, problem.reason) == (
        "CONVERSATION_EVENTS",
        "FAX_NUMBER",
        "column not found in the table",
    )
    assert _changing_statements(recorder) == []
    assert event_ids(warehouse.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS


def test_column_name_carrying_sql_is_rejected_by_validation_and_the_table_stays_intact(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    bad = [{"name": "email; DROP TABLE x", "identifier": "email"}]

    with pytest.raises(MappingError) as error:
        warehouse.mapping([delete_table_mapping(columns=bad)])

    (problem,) = error.value.problems
    assert problem.column == "#0"  # named by its position: the error never repeats the SQL it carried
    assert "DROP TABLE" not in str(error.value)
    assert "not a plain SQL identifier" in problem.reason
    assert event_ids(warehouse.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS


def test_identifier_column_that_is_not_a_string_is_rejected(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))
    columns = [{"name": "EVENT_DATE", "identifier": "email"}]

    with pytest.raises(MappingError, match="identifier columns must be strings"):
        warehouse.erase(warehouse.mapping([delete_table_mapping(columns=columns)]), ALICE)


def test_every_static_problem_is_reported_at_once_with_its_location():
    document = {
        "connections": [
            {
                "name": "sf",
                "type": "snowflake",
                "airflow_conn_id": "sf",
                "database": "DB",
                "tables": [
                    {"name": "T1", "action": "truncate", "columns": [{"name": "C", "identifier": "email"}]},
                    {"name": "T2", "columns": [{"name": "C", "identifier": "fax", "form": "md5"}]},
                    {"name": "T3", "action": "redact", "columns": [{"name": "C", "identifier": "email"}]},
                ],
            }
        ]
    }

    with pytest.raises(MappingError) as error:
        WarehouseMapping.from_dict(document, source="mapping.yaml")

    found = {
        (p.connection, p.table, p.column, p.reason.split(";")[0].split(" is ")[0])
        for p in error.value.problems
    }
    assert found == {
        ("sf", None, None, "'schema'"),
        ("sf", "T1", None, "'action'"),
        ("sf", "T2", "C", "'identifier'"),
        ("sf", "T2", "C", "'form'"),
        (
            "sf",
            "T3",
            None,
            "action 'redact' needs a non-empty 'redact_columns' list (the columns set to NULL)",
        ),
    }
    assert all(p.source == "mapping.yaml" for p in error.value.problems)


def test_redaction_that_would_keep_a_raw_email_is_rejected(snowflake_wh, hasher):
    snowflake_wh.seed(events_table(), event_rows(hasher))
    table = {
        "name": "CONVERSATION_EVENTS",
        "action": "redact",
        "redact_columns": ["CUSTOMER_PHONE"],
        "columns": [{"name": "CUSTOMER_EMAIL", "identifier": "email"}],
    }

    with pytest.raises(MappingError, match="must be listed in redact_columns"):
        snowflake_wh.erase(snowflake_wh.mapping([table]), ALICE)


def test_example_mapping_shipped_with_the_project_is_valid():
    mapping = load_mapping(REPO_ROOT / "config" / "warehouse_mapping.example.yaml")

    assert [c.kind.value for c in mapping.connections] == ["snowflake", "bigquery"]


def _snowflake(**overrides) -> dict:
    table = {"name": "T", "columns": [{"name": "C", "identifier": "email"}]}
    connection = {"name": "sf", "type": "snowflake", "airflow_conn_id": "sf", "database": "DB", "schema": "S"}
    return {"connections": [{**connection, "tables": [table], **overrides}]}


def test_a_problem_names_the_key_but_never_the_value_given():
    document = _snowflake(schema="secret schema", project="Secret_Project", type="snowflake")
    document["connections"][0]["tables"][0]["columns"][0]["form"] = "md5-of-jane"

    with pytest.raises(MappingError) as error:
        WarehouseMapping.from_dict(document, source="mapping.yaml")

    assert {(p.connection, p.table, p.column, p.reason) for p in error.value.problems} == {
        ("sf", None, None, "'schema' is not a plain SQL identifier"),
        ("sf", None, None, "'project' is not a valid Google Cloud project id"),
        ("sf", "T", "C", "'form' is not one of: raw, sha256, keyed_hmac"),
    }
    assert "secret" not in str(error.value).lower() and "jane" not in str(error.value)


def test_rules_across_entries_are_reported_with_the_entries_own_problems():
    document = _snowflake(
        tables=[
            {"name": "T", "columns": [{"name": "C", "identifier": "email"}]},
            {
                "name": "t",
                "columns": [{"name": "C", "identifier": "email"}, {"name": "c", "identifier": "phone"}],
            },
            {"name": "U", "columns": [{"name": "C", "identifier": "fax"}]},
        ]
    )

    with pytest.raises(MappingError) as error:
        WarehouseMapping.from_dict(document, source="mapping.yaml")

    assert {(p.table, p.column, p.reason) for p in error.value.problems} == {
        ("t", None, "table mapped twice"),
        ("t", "c", "column mapped twice"),
        ("U", "C", "'identifier' is not one of: email, phone, external_contact_id, conversation_id, user_id"),
    }


def test_unknown_keys_are_refused_at_every_level():
    document = _snowflake(warehouse="x")
    document["owner"] = "y"

    with pytest.raises(MappingError) as error:
        WarehouseMapping.from_dict(document, source="mapping.yaml")

    assert {(p.connection, p.reason) for p in error.value.problems} == {
        (None, "unknown keys ['owner']"),
        ("sf", "unknown keys ['warehouse']"),
    }


def test_a_valid_mapping_is_frozen_and_knows_its_source():
    mapping = WarehouseMapping.from_dict(_snowflake(), source="mapping.yaml")

    (connection,) = mapping.connections
    assert (mapping.source, connection.source, connection.kind.value) == (
        "mapping.yaml",
        "mapping.yaml",
        "snowflake",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        connection.name = "other"  # type: ignore[misc]
