"""How the keys reach the session table: byte-bounded chunks at the engines' documented limits, and the
bulk path (Parquet from memory) on the local engines as far as each can run it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from google.api_core.exceptions import BadRequest
from google.cloud import bigquery

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.warehouse.bigquery import erase_bigquery
from genesys_erasure.warehouse.key_loading import (
    SNOWFLAKE_STATEMENT_LIMIT,
    STATEMENT_HEADROOM,
    KeyLoadError,
    bigquery_bulk_load,
    json_chunks,
    keys_parquet,
    value_chunks,
)
from genesys_erasure.warehouse.mapping import IdentifierType, ValueForm
from genesys_erasure.warehouse.planning import ErasureSubjects, KeyGroup, KeySet, build_key_set
from genesys_erasure.warehouse.snowflake import erase_snowflake
from tests.support.warehouse import (
    ALICE,
    ALICE_EVENT_IDS,
    ALL_EVENT_IDS,
    FIXED_NOW,
    TRICKY_CONTACT,
    TRICKY_EMAIL,
    RecordingBigQueryClient,
    RecordingSnowflakeConnection,
    delete_table_mapping,
    event_ids,
    event_rows,
    events_table,
)

EMAIL_RAW = KeyGroup(IdentifierType.EMAIL, ValueForm.RAW)


def _rows(count: int, width: int = 64) -> list[tuple[int, str]]:
    return [(1, f"{i:0{width}d}") for i in range(count)]


def _document_size(rows) -> int:
    return len(json.dumps([list(r) for r in rows], separators=(",", ":")))


# -- chunking at the documented limits (no engine) ---------------------------------------------------------


def test_keys_exactly_filling_a_statement_go_in_one_and_one_byte_more_splits_them():
    rows = _rows(1000)
    exact = _document_size(rows)

    assert [count for count, _ in json_chunks(rows, exact)] == [1000]
    assert [count for count, _ in json_chunks(rows, exact - 1)] == [999, 1]


def test_no_statement_chunk_exceeds_the_budget_once_quotes_are_escaped():
    rows = [(1, "o'brien" * 9 + f"{i}@example.com") for i in range(5000)]
    budget = 50_000

    chunks = list(json_chunks(rows, budget))

    escaped = [len(doc) + doc.count("'") + doc.count("\\") for _, doc in chunks]
    assert max(escaped) <= budget and sum(c for c, _ in chunks) == 5000
    assert json.loads(chunks[0][1])[0] == [1, rows[0][1]]


def test_the_old_fixed_chunk_of_20000_hmac_keys_is_over_snowflakes_limit_and_now_splits_in_two():
    # 20,000 HMAC keys (the old fixed chunk) are ~1.4 MB of JSON: over Snowflake's 1 MB statement limit.
    rows = _rows(20_000)
    assert _document_size(rows) > SNOWFLAKE_STATEMENT_LIMIT
    assert len(list(json_chunks(rows, SNOWFLAKE_STATEMENT_LIMIT))) == 2


def test_bigquery_array_chunks_stop_at_the_request_budget():
    values = [f"{i:064d}" for i in range(1000)]
    per_value = len(json.dumps({"value": values[0]})) + 1

    assert [len(c) for c in value_chunks(values, per_value * 1000)] == [1000]
    assert [len(c) for c in value_chunks(values, per_value * 1000 - 1)] == [999, 1]


def test_the_parquet_payload_holds_exactly_the_keys_with_their_types(hasher):
    keys = KeySet({EMAIL_RAW: 1}, {1: (TRICKY_EMAIL, "alice@example.com")})

    table = pq.read_table(io.BytesIO(keys_parquet(keys, "key_group", "key_value")))

    assert table.schema.field("key_group").type == "int64"
    assert table.schema.field("key_value").type == "string"
    assert list(zip(*table.to_pydict().values(), strict=True)) == keys.rows()


def test_importing_the_executors_and_subject_input_does_not_load_pandas_or_pyarrow():
    code = (
        "import sys, genesys_erasure.warehouse, genesys_erasure.warehouse.snowflake,"
        " genesys_erasure.warehouse.key_loading, genesys_erasure.subject_input,"
        " genesys_erasure.spreadsheet_input;"
        "print(sorted(m for m in ('pandas', 'pyarrow', 'openpyxl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the bulk path on the local engines --------------------------------------------------------------------


def _alice_and_tricky() -> ErasureSubjects:
    return ErasureSubjects(
        identifiers=(
            *ALICE.identifiers,
            Identifier(IdentifierKind.EMAIL, TRICKY_EMAIL),
            Identifier(IdentifierKind.EXTERNAL_CONTACT, TRICKY_CONTACT),
        ),
        conversation_ids=ALICE.conversation_ids,
    )


@pytest.mark.slow
@pytest.mark.parametrize("paramstyle", [None, "qmark"])
def test_snowflake_bulk_load_erases_the_same_rows_through_stage_and_copy(snowflake_wh, hasher, paramstyle):
    snowflake_wh.seed(events_table(), event_rows(hasher))
    recorder = RecordingSnowflakeConnection(snowflake_wh.open(paramstyle))

    results = erase_snowflake(
        recorder, snowflake_wh.mapping([delete_table_mapping()]), _alice_and_tricky(), hasher,
        clock=lambda: FIXED_NOW, bulk_min_keys=1,
    )  # fmt: skip

    assert event_ids(snowflake_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - ALICE_EVENT_IDS - {"ev-7"}
    assert results[0].rows_remaining == 0 and results[0].rows_affected == 5
    assert any(s.startswith("PUT file://") for s in recorder.statements)
    assert any(s.startswith("COPY INTO") for s in recorder.statements)
    assert not any(s.startswith("INSERT INTO") for s in recorder.statements)


class _SentStatementSizes:
    """A real connection whose cursors note the size of each key INSERT as the connector sent it (with
    the default pyformat binding the values are escaped into the statement text)."""

    def __init__(self, real) -> None:
        self._real, self.sizes = real, []

    def cursor(self, *args, **kwargs):
        return _SizingCursor(self._real.cursor(*args, **kwargs), self.sizes)

    def __getattr__(self, name: str):
        return getattr(self._real, name)


class _SizingCursor:
    def __init__(self, real, sizes: list[int]) -> None:
        self._real, self._sizes = real, sizes

    def execute(self, sql, params=None, **kwargs):
        result = self._real.execute(sql, params, **kwargs)
        if sql.startswith("INSERT INTO"):
            self._sizes.append(len(self._real.query.encode("utf-8")))
        return result

    def __getattr__(self, name: str):
        return getattr(self._real, name)


@pytest.mark.slow
def test_snowflake_statement_path_loads_keys_past_one_statement_in_byte_bounded_chunks(snowflake_wh, hasher):
    snowflake_wh.seed(events_table(), event_rows(hasher))
    many = tuple(Identifier(IdentifierKind.EMAIL, f"someone{i}@example.org") for i in range(12_000))
    subjects = ErasureSubjects((*ALICE.identifiers, *many), ALICE.conversation_ids)
    connection = _SentStatementSizes(snowflake_wh.open())

    erase_snowflake(connection, snowflake_wh.mapping([delete_table_mapping()]), subjects, hasher,
                    clock=lambda: FIXED_NOW, bulk_min_keys=10**9)  # fmt: skip
    connection.close()

    assert len(connection.sizes) >= 2  # > 1 MB of keys: more than one statement
    # each statement filled up to its budget under the documented limit, never past it
    assert (
        SNOWFLAKE_STATEMENT_LIMIT - STATEMENT_HEADROOM - 200
        < max(connection.sizes)
        <= SNOWFLAKE_STATEMENT_LIMIT
    )
    assert event_ids(snowflake_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - ALICE_EVENT_IDS


@pytest.mark.slow
def test_snowflake_run_past_the_measured_crossover_takes_the_bulk_path_by_default(snowflake_wh, hasher):
    snowflake_wh.seed(events_table(), event_rows(hasher))
    many = tuple(Identifier(IdentifierKind.EMAIL, f"someone{i}@example.org") for i in range(6000))
    subjects = ErasureSubjects((*ALICE.identifiers, *many), ALICE.conversation_ids)
    recorder = RecordingSnowflakeConnection(snowflake_wh.open())

    erase_snowflake(recorder, snowflake_wh.mapping([delete_table_mapping()]), subjects, hasher)

    assert any(s.startswith("COPY INTO") for s in recorder.statements)
    assert event_ids(snowflake_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - ALICE_EVENT_IDS


@pytest.mark.slow
def test_bigquery_bulk_payload_loads_every_key_by_a_load_job(bigquery_wh, hasher):
    client = bigquery_wh.client
    path = f"{client.project}.{bigquery_wh.dataset}.keys"
    schema = [bigquery.SchemaField("key_group", "INT64"), bigquery.SchemaField("key_value", "STRING")]
    client.create_table(bigquery.Table(path, schema=schema))
    keys = KeySet({EMAIL_RAW: 1}, {1: (TRICKY_EMAIL, "alice@example.com", "b@x.org")})

    loaded = bigquery_bulk_load(client, path, keys, session_id=None, location=None)

    rows = sorted(tuple(r) for r in client.query(f"SELECT key_group, key_value FROM `{path}`").result())
    assert loaded == 3 and rows == sorted(keys.rows())


class _LoadJobRecorder(RecordingBigQueryClient):
    """The real client; records the destination of every load job, optionally fails them."""

    def __init__(self, real, load_error=None) -> None:
        super().__init__(real)
        self.load_destinations: list[str] = []
        self._load_error = load_error

    def load_table_from_file(self, file_obj, destination, *args, **kwargs):
        self.load_destinations.append(str(destination))
        if self._load_error is not None:
            raise self._load_error
        return self._real.load_table_from_file(file_obj, destination, *args, **kwargs)


@pytest.mark.slow
def test_bigquery_load_job_that_cannot_reach_the_session_table_falls_back_to_statements(bigquery_wh, hasher):
    # bqemulator 1.4.0 does not resolve `_SESSION` for a load job (real BigQuery does, through the job's
    # session_id connection property): the keys then go by statements and the run still erases.
    bigquery_wh.seed(events_table(), event_rows(hasher))
    recorder = _LoadJobRecorder(bigquery_wh.client)

    results = erase_bigquery(
        recorder, bigquery_wh.mapping([delete_table_mapping()]), ALICE, hasher,
        clock=lambda: FIXED_NOW, bulk_min_keys=1,
    )  # fmt: skip

    assert len(recorder.load_destinations) == 1 and "._SESSION.erasure_keys_" in recorder.load_destinations[0]
    assert any(q.startswith("INSERT INTO") for q in recorder.queries)
    assert event_ids(bigquery_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - ALICE_EVENT_IDS
    assert results[0].rows_remaining == 0


@pytest.mark.slow
def test_bigquery_load_job_failure_stops_the_run_before_any_delete_without_values(bigquery_wh, hasher):
    bigquery_wh.seed(events_table(), event_rows(hasher))
    refused = BadRequest("Error while reading data: bad value 'alice@example.com' in row 3")
    recorder = _LoadJobRecorder(bigquery_wh.client, load_error=refused)

    with pytest.raises(KeyLoadError) as error:
        erase_bigquery(
            recorder, bigquery_wh.mapping([delete_table_mapping()]), ALICE, hasher,
            clock=lambda: FIXED_NOW, bulk_min_keys=1,
        )  # fmt: skip

    assert "alice" not in str(error.value).lower() and error.value.__cause__ is None
    assert not any("DELETE" in q for q in recorder.queries)
    assert event_ids(bigquery_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS


@pytest.mark.slow
def test_bigquery_statement_path_still_erases_below_the_bulk_threshold(bigquery_wh, hasher):
    bigquery_wh.seed(events_table(), event_rows(hasher))
    keys = build_key_set(ALICE, hasher, {EMAIL_RAW: 1})
    assert keys.size < 50_000

    erase_bigquery(bigquery_wh.client, bigquery_wh.mapping([delete_table_mapping()]), ALICE, hasher,
                   clock=lambda: FIXED_NOW)  # fmt: skip

    assert event_ids(bigquery_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS - ALICE_EVENT_IDS
