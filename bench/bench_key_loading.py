"""Benchmark: loading erasure keys into the session table, bound statements (old) vs bulk load (new).

Per engine and key count: the key load alone (statements vs bulk), and the whole per-table erasure of
one run (mapping check, key load, the table's transaction, clean-up) with each path, against a table of
--rows rows with 4 mapped columns (4 key groups, so N keys = N/4 subjects).

bqemulator cannot resolve the session's dataset `_SESSION` for a load job (README, "Warehouse copies"),
so on it the new path is measured as: the same load job into a dataset table, then one
`INSERT … SELECT` into the session's table (timed apart: only the emulator needs it).

    .venv/bin/python bench/bench_key_loading.py [--keys 10000,100000,1000000] [--rows N]
        [--engines snowflake,bigquery] [--crossover 1000,10000,50000,100000] [--skip-erasure-above N]

Prints markdown tables. One run per cell (a 1M-key run takes minutes): on a shared machine the figures
swing, so read ratios between paths rather than absolute times.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT), str(ROOT / "bench")]

from _report import machine_line  # noqa: E402
from bench_warehouse import DISTINCT_USERS, TABLE, mapping, subjects  # noqa: E402

from genesys_devtools.local_engines import LocalBigQueryEmulator, LocalFakesnow  # noqa: E402
from genesys_erasure.hashing import KeyedHasher  # noqa: E402
from genesys_erasure.warehouse import bigquery as bq  # noqa: E402
from genesys_erasure.warehouse import snowflake as sf  # noqa: E402
from genesys_erasure.warehouse.key_loading import bigquery_bulk_load  # noqa: E402
from genesys_erasure.warehouse.planning import (  # noqa: E402
    build_key_set,
    key_groups_for,
    new_keys_table_name,
    plan_bigquery_table,
)

HASHER = KeyedHasher(b"benchmark-key-0123456789abcdef")
NEVER, ALWAYS = 10**12, 0


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return time.perf_counter() - start, out


def subjects_for(keys: int):
    return subjects(max(1, keys // 4))


# -- Snowflake (fakesnow) ---------------------------------------------------------------------------------


def snowflake_runs(server, sizes, rows, erasure_limit, out):
    admin = server.connect()
    cur = admin.cursor()
    cur.execute("CREATE DATABASE IF NOT EXISTS BENCH")
    cur.execute("CREATE SCHEMA IF NOT EXISTS BENCH.S")
    conn = mapping("snowflake", database="BENCH", schema="S")
    seed_snowflake(cur, rows)
    engine = "Snowflake (fakesnow 0.12.1)"
    for size in sizes:
        sub = subjects_for(size)
        connection = server.connect()
        tables = sf.check_snowflake_mapping(connection, conn)
        keys = build_key_set(sub, HASHER, key_groups_for(tables))
        for label, bulk in (("statements (old)", False), ("bulk: Parquet, PUT, COPY (new)", True)):
            c = connection.cursor()
            name = new_keys_table_name()
            spent, _ = timed(sf.load_keys, c, "BENCH", "S", name, keys, "%s", bulk=bulk)
            c.execute(f'DROP TABLE IF EXISTS "{name}"')
            out.append((engine, "key load", keys.size, label, spent, ""))
        connection.close()
        if size > erasure_limit:
            continue
        for label, minimum in (("statements (old)", NEVER), ("bulk (new)", ALWAYS)):
            seed_snowflake(cur, rows)
            connection = server.connect()
            spent, results = timed(sf.erase_snowflake, connection, conn, sub, HASHER, bulk_min_keys=minimum)
            connection.close()
            note = f"{results[0].rows_affected:,} rows deleted of {rows:,}"
            out.append((engine, "whole erasure", keys.size, label, spent, note))
    admin.close()


def seed_snowflake(cur, rows):
    cur.execute(
        f"CREATE OR REPLACE TABLE BENCH.S.{TABLE} AS SELECT 'conv-' || i AS CONVERSATION_ID,"
        f" 'user' || (i % {DISTINCT_USERS}) || '@example.com' AS CUSTOMER_EMAIL,"
        f" '+4420' || LPAD((i % {DISTINCT_USERS})::VARCHAR, 8, '0') AS CUSTOMER_PHONE,"
        f" SHA2('user' || (i % {DISTINCT_USERS}) || '@example.com', 256) AS EMAIL_SHA256"
        f" FROM (SELECT SEQ4() AS i FROM TABLE(GENERATOR(ROWCOUNT => {rows})))"
    )


# -- BigQuery (bqemulator) --------------------------------------------------------------------------------


def bigquery_runs(emulator, sizes, rows, erasure_limit, out):
    client = emulator.client()
    client.create_dataset("bench", exists_ok=True)
    seed_bigquery(client, rows)
    conn = mapping("bigquery", dataset="bench")
    engine = "BigQuery (bqemulator 1.4.0)"
    for size in sizes:
        sub = subjects_for(size)
        tables = bq.check_bigquery_mapping(client, conn)
        keys = build_key_set(sub, HASHER, key_groups_for(tables))
        name = new_keys_table_name()
        spent, session = timed(bq._Session.open_with_keys, client, None, name, keys)
        session.close(name)
        out.append((engine, "key load", keys.size, "statements (old)", spent, ""))
        spent, (load_s, copy_s, session) = timed(bulk_into_session, client, name, keys)
        session.close(name)
        note = f"load job {load_s:.2f} s + copy into the session table {copy_s:.2f} s"
        out.append((engine, "key load", keys.size, "bulk: Parquet load job (new)", spent, note))
        if size > erasure_limit:
            continue
        for label, bulk in (("statements (old)", False), ("bulk (new)", True)):
            seed_bigquery(client, rows)
            spent, results = timed(erase_one_table, client, conn, sub, bulk)
            note = f"{results.rows_affected:,} rows deleted of {rows:,}"
            out.append((engine, "whole erasure", keys.size, label, spent, note))
    client.close()


def bulk_into_session(client, name, keys):
    """The new path as far as bqemulator goes: the load job into a dataset table, then into the session."""
    staging = f"{client.project}.bench.staging_{uuid.uuid4().hex[:8]}"
    create = f"CREATE TEMP TABLE `{name}` (key_group INT64, key_value STRING)"
    from google.cloud import bigquery

    job = client.query(create, job_config=bigquery.QueryJobConfig(create_session=True))
    job.result()
    session = bq._Session(client, job.session_info.session_id, None)
    schema = [bigquery.SchemaField("key_group", "INT64"), bigquery.SchemaField("key_value", "STRING")]
    client.create_table(bigquery.Table(staging, schema=schema))
    load_s, _ = timed(bigquery_bulk_load, client, staging, keys, session_id=None, location=None)
    copy_s, _ = timed(session.run, f"INSERT INTO `{name}` SELECT * FROM `{staging}`")
    client.delete_table(staging)
    return load_s, copy_s, session


def erase_one_table(client, conn, sub, bulk):
    """erase_bigquery's steps for the one table, with the key load as bqemulator allows it."""
    from datetime import date

    tables = bq.check_bigquery_mapping(client, conn)
    window, _ = bq._read_dataset(client, conn)
    groups = key_groups_for(tables)
    keys = build_key_set(sub, HASHER, groups)
    name = new_keys_table_name()
    if bulk:
        session = bulk_into_session(client, name, keys)[2]
    else:
        session = bq._Session.open_with_keys(client, None, name, keys)
    try:
        plan = plan_bigquery_table(tables[0], client.project, conn.dataset, name, groups, date.today())
        return bq._erase_table(session, conn, plan, window, bq._utc_now)
    finally:
        session.close(name)


def seed_bigquery(client, rows):
    path = f"{client.project}.bench.{TABLE}"
    email = f"CONCAT('user', CAST(MOD(i, {DISTINCT_USERS}) AS STRING), '@example.com')"
    client.delete_table(path, not_found_ok=True)
    client.query(
        f"CREATE TABLE `{path}` AS SELECT CONCAT('conv-', CAST(i AS STRING)) AS CONVERSATION_ID,"
        f" {email} AS CUSTOMER_EMAIL,"
        f" CONCAT('+4420', LPAD(CAST(MOD(i, {DISTINCT_USERS}) AS STRING), 8, '0')) AS CUSTOMER_PHONE,"
        f" TO_HEX(SHA256({email})) AS EMAIL_SHA256"
        f" FROM UNNEST(GENERATE_ARRAY(0, {rows - 1})) AS i"
    ).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", default="10000,100000,1000000")
    parser.add_argument(
        "--crossover", default="1000,10000,50000", help="key loads only, to find the crossover"
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="snowflake,bigquery")
    parser.add_argument("--skip-erasure-above", type=int, default=10**9, help="key loads only above this")
    args = parser.parse_args()
    crossover = [int(x) for x in args.crossover.split(",") if x]
    sizes = [int(x) for x in args.keys.split(",") if x]
    out: list[tuple] = []
    for engine in args.engines.split(","):
        if engine == "snowflake":
            with LocalFakesnow() as server:
                snowflake_runs(server, crossover, args.rows, 0, out)
                snowflake_runs(server, sizes, args.rows, args.skip_erasure_above, out)
        else:
            with LocalBigQueryEmulator() as emulator:
                bigquery_runs(emulator, crossover, args.rows, 0, out)
                bigquery_runs(emulator, sizes, args.rows, args.skip_erasure_above, out)
        print_table(out)  # after each engine: a long run still leaves its first half
    print(machine_line())


def print_table(out) -> None:
    print()
    print("| engine | what | keys | path | wall time | note |")
    print("|---|---|---:|---|---:|---|")
    for engine, what, keys, label, spent, note in out:
        print(f"| {engine} | {what} | {keys:,} | {label} | {spent:.2f} s | {note} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
