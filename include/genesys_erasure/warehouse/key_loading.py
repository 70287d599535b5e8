"""How the erasure keys reach the warehouse session: bound statements for small sets, a bulk load for large.

Two paths, chosen per run by the number of keys (`choose_bulk`):

* **Statements** (small sets): the keys travel as bound parameters of `INSERT … SELECT` statements. Both
  engines limit a statement's size, bound values included, so the keys are cut into chunks by their
  encoded size, not by their count (`json_chunks`, `value_chunks`):
  - Snowflake, "Limits on Query Text Size" (docs.snowflake.com/en/user-guide/query-size-limits): 1 MB per
    statement, and the limit "also applies when binding values". With the connector's default pyformat
    binding the JSON document is escaped into the statement text, so the escaped size is what counts.
  - BigQuery, "Quotas and limits" (cloud.google.com/bigquery/quotas), query jobs: a request of at most
    10 MB including its query parameters; a query text of at most 1,024k characters (ours is short).
* **Bulk** (large sets): the keys as a pandas DataFrame, written as Parquet into memory, then the engine's
  file path — Snowflake: `PUT` into a temporary stage and `COPY INTO` the session's temporary table;
  BigQuery: a load job into the session's table (`_SESSION.<name>`, resolved through the `session_id`
  connection property). A load job is not DML, so it does not count against the table's DML limits.
  A service that refuses `_SESSION` for load jobs (bqemulator 1.4.0) raises `SessionDatasetNotFound`,
  and the BigQuery executor then uses the statements.

Why not the libraries' one-call helpers: `write_pandas` and `load_table_from_dataframe` both spool the
DataFrame to a temporary file on local disk before uploading it, and raw-form keys are raw e-mail
addresses and phone numbers. The project keeps identifiers off disk outside its sealed paths, so the
Parquet bytes stay in memory (`PUT … file_stream=`, `load_table_from_file(BytesIO)`); the statements and
jobs the engines see are the ones the helpers issue. pandas and pyarrow are imported inside the functions:
DAG files import the executors' modules at parse time.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Iterator, Sequence

from genesys_erasure.warehouse.planning import KeySet

SNOWFLAKE_STATEMENT_LIMIT = 1_000_000  # bytes, bound values included
BIGQUERY_REQUEST_LIMIT = 10_000_000  # bytes, query parameters included
# Room left in each statement/request for its SQL text and the request's envelope.
STATEMENT_HEADROOM = 10_000

# Crossovers measured on the local engines (bench/bench_key_loading.py, bench/RESULTS.md §6): below these
# the bound statements load the keys faster than the bulk path's stage/upload/load round trips
# (fakesnow: statements faster at 5,000 keys, bulk at 10,000; bqemulator: at 1,000 and 5,000).
SNOWFLAKE_BULK_MIN_KEYS = 10_000
BIGQUERY_BULK_MIN_KEYS = 5_000


class KeyLoadError(RuntimeError):
    """The keys could not be loaded; nothing was deleted. The message holds no identifier values."""


class SessionDatasetNotFound(KeyLoadError):
    """The service did not resolve `_SESSION` for the load job (bqemulator 1.4.0; real BigQuery does).
    Nothing was loaded: a load job is atomic."""


def key_load_error(count: int, exc: BaseException) -> KeyLoadError:
    """A `KeyLoadError` naming only the error's class and code: drivers' messages can quote the
    statement or the offending row, and those carry identifiers."""
    code = getattr(exc, "errno", None) or getattr(exc, "sqlstate", None) or getattr(exc, "code", None)
    return KeyLoadError(
        f"loading {count} erasure keys into the session table failed: {type(exc).__name__}"
        + (f" (code {code})" if code else "")
    )


def choose_bulk(keys: KeySet, min_keys: int) -> bool:
    return keys.size >= min_keys


def json_chunks(rows: Sequence[tuple[int, str]], budget: int) -> Iterator[tuple[int, str]]:
    """`(row count, JSON array)` chunks of `rows`, each at most `budget` bytes once escaped into a
    statement (a pyformat connector doubles `'` and `\\`). A single row over the budget raises."""
    parts: list[str] = []
    size = 2  # the brackets
    for row in rows:
        part = json.dumps(list(row), separators=(",", ":"))  # ASCII only: characters = bytes
        cost = _escaped_size(part) + (1 if parts else 0)
        if size + cost > budget:
            if not parts:
                raise ValueError("one erasure key is larger than a whole statement")
            yield len(parts), "[" + ",".join(parts) + "]"
            parts, size, cost = [], 2, _escaped_size(part)
        parts.append(part)
        size += cost
    if parts:
        yield len(parts), "[" + ",".join(parts) + "]"


def value_chunks(values: Iterable[str], budget: int) -> Iterator[list[str]]:
    """Lists of `values` whose array parameter stays within `budget` bytes of a JSON request body
    (each value quoted, escaped, wrapped as `{"value": "…"}`)."""
    chunk: list[str] = []
    size = 0
    for value in values:
        cost = len(json.dumps({"value": value})) + 1
        if chunk and size + cost > budget:
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += cost
    if chunk:
        yield chunk


def _escaped_size(text: str) -> int:
    return len(text) + text.count("'") + text.count("\\")


def keys_parquet(keys: KeySet, group_column: str, value_column: str) -> bytes:
    """The keys as a DataFrame `(group_column INT64, value_column STRING)`, as Parquet bytes in memory.
    The DataFrame lives only inside this function."""
    import pandas as pd

    rows = keys.rows()
    frame = pd.DataFrame(
        {
            group_column: pd.array([g for g, _ in rows], dtype="int64"),
            value_column: pd.array([v for _, v in rows], dtype="string"),
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False, compression="snappy")
    return buffer.getvalue()


# -- Snowflake --------------------------------------------------------------------------------------------


def snowflake_bulk_load(cursor, keys_table_sql: str, stage_name: str, keys: KeySet) -> int:
    """Load `keys` into the (existing, empty) temporary table `keys_table_sql` through a temporary stage;
    returns the rows COPY loaded. `stage_name`: a plain unquoted identifier."""
    payload = io.BytesIO(keys_parquet(keys, "KEY_GROUP", "KEY_VALUE"))
    try:
        cursor.execute(f"CREATE TEMPORARY STAGE {stage_name} FILE_FORMAT = (TYPE = PARQUET)")
        # file_stream: the connector uploads (and encrypts) from memory; the name is only the stage file's.
        put = f"PUT file://erasure_keys.parquet @{stage_name} AUTO_COMPRESS = FALSE"
        cursor.execute(put, file_stream=payload)
        cursor.execute(
            f"COPY INTO {keys_table_sql} (KEY_GROUP, KEY_VALUE)"
            f" FROM (SELECT $1:KEY_GROUP::NUMBER, $1:KEY_VALUE::VARCHAR FROM @{stage_name})"
            " FILE_FORMAT = (TYPE = PARQUET) PURGE = TRUE ON_ERROR = ABORT_STATEMENT"
        )
        loaded = _copy_rows_loaded(cursor)
    except Exception as exc:
        raise key_load_error(keys.size, exc) from None
    finally:
        with contextlib.suppress(Exception):  # a temporary stage ends with the session anyway
            cursor.execute(f"DROP STAGE IF EXISTS {stage_name}")
    if loaded != keys.size:
        raise KeyLoadError(f"COPY loaded {loaded} of {keys.size} erasure keys into the session table")
    return loaded


def _copy_rows_loaded(cursor) -> int:
    names = [str(d[0]).lower() for d in cursor.description or ()]
    column = names.index("rows_loaded") if "rows_loaded" in names else 3
    return sum(int(row[column] or 0) for row in cursor.fetchall())


# -- BigQuery ---------------------------------------------------------------------------------------------


def bigquery_bulk_load(
    client, destination, keys: KeySet, *, session_id: str | None, location: str | None
) -> int:
    """Load `keys` into the existing table `destination` with one load job (Parquet from memory); with
    `session_id`, `destination` may name the session's dataset `_SESSION`. Returns the rows loaded."""
    from google.cloud import bigquery

    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        schema=[bigquery.SchemaField("key_group", "INT64"), bigquery.SchemaField("key_value", "STRING")],
        write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
    )
    if session_id:
        config.connection_properties = [bigquery.ConnectionProperty("session_id", session_id)]
    payload = io.BytesIO(keys_parquet(keys, "key_group", "key_value"))
    try:
        # No `size`: the client then takes the resumable upload; with a size under 5 MiB it sends a
        # multipart upload, which bqemulator refuses (what `load_table_from_dataframe` always does).
        job = client.load_table_from_file(payload, destination, job_config=config, location=location)
        job.result()
    except Exception as exc:
        if session_id and _names_missing_session_dataset(exc):
            raise SessionDatasetNotFound(
                f"the load job could not resolve _SESSION ({type(exc).__name__})"
            ) from None
        raise key_load_error(keys.size, exc) from None
    loaded = job.output_rows
    if loaded is not None and int(loaded) != keys.size:
        raise KeyLoadError(f"the load job loaded {loaded} of {keys.size} erasure keys")
    return keys.size if loaded is None else int(loaded)


def _names_missing_session_dataset(exc: BaseException) -> bool:
    # bqemulator 1.4.0 answers 400 "Error while reading data, error message: Catalog Error: Table with
    # name "<project>___SESSION.<table>" does not exist because schema "<project>___SESSION" does not exist"
    # (with CREATE_IF_NEEDED: "Not found: dataset:<project>._SESSION").
    message = str(getattr(exc, "message", "") or exc).lower()
    return "_session" in message and ("not found" in message or "does not exist" in message)
