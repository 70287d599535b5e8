"""Benchmark: erase 10,000 subjects from a 1,000,000-row table on the local warehouses.

Targets: ONE DML statement per table per run, and at most 2x the wall time of one full scan of the mapped
columns. Printed: the DML statement alone (Snowflake; BigQuery runs the transaction as one script job), the
table's whole transaction (count before, DML, count after), and the whole run (mapping check, retention
lookup, key load, transaction, clean-up).

    .venv/bin/python bench/bench_warehouse.py [--rows N] [--subjects N] [--engines snowflake,bigquery]

Needs .venv-bq for BigQuery (`make venv`). Prints a markdown table. Numbers depend on the machine; fakesnow
and bqemulator are DuckDB underneath, so they say more about statement shape than about the real services.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT)]

from genesys_devtools.local_engines import LocalBigQueryEmulator, LocalFakesnow  # noqa: E402
from genesys_erasure.hashing import KeyedHasher  # noqa: E402
from genesys_erasure.identifiers import Identifier, IdentifierKind  # noqa: E402
from genesys_erasure.warehouse.bigquery import erase_bigquery  # noqa: E402
from genesys_erasure.warehouse.mapping import WarehouseMapping  # noqa: E402
from genesys_erasure.warehouse.planning import ErasureSubjects  # noqa: E402
from genesys_erasure.warehouse.snowflake import erase_snowflake  # noqa: E402

TABLE = "CONVERSATION_EVENTS"
DISTINCT_USERS = 200_000  # each user owns rows / DISTINCT_USERS rows
COLUMNS = [
    {"name": "CONVERSATION_ID", "identifier": "conversation_id", "form": "raw"},
    {"name": "CUSTOMER_EMAIL", "identifier": "email", "form": "raw"},
    {"name": "CUSTOMER_PHONE", "identifier": "phone", "form": "raw"},
    {"name": "EMAIL_SHA256", "identifier": "email", "form": "sha256"},
]
SCAN_COLUMNS = [c["name"] for c in COLUMNS]


@dataclass
class Measurement:
    engine: str
    rows: int
    subjects: int
    keys: int
    rows_deleted: int
    dml_statements: int
    full_scan_s: float
    dml_s: float | None
    table_txn_s: float
    run_total_s: float


def subjects(count: int) -> ErasureSubjects:
    identifiers, conversations = [], []
    for user in range(count):
        identifiers.append(Identifier(IdentifierKind.EMAIL, f"user{user}@example.com"))
        identifiers.append(Identifier(IdentifierKind.PHONE, f"+4420{user:08d}"))
        conversations.append(f"conv-{user}")
    return ErasureSubjects(tuple(identifiers), tuple(conversations))


def mapping(kind: str, **namespace: str):
    conn = {"name": kind, "type": kind, "airflow_conn_id": kind, **namespace}
    conn["tables"] = [{"name": TABLE, "action": "delete", "columns": COLUMNS}]
    return WarehouseMapping.from_dict({"connections": [conn]}, source="bench").connections[0]


# -- Snowflake (fakesnow) ---------------------------------------------------------------------------------


class _TimedConnection:
    """Times every statement of the real connection; `dml` counts DELETE/UPDATE statements per table."""

    def __init__(self, real) -> None:
        self._real, self.log = real, []

    def cursor(self):
        return _TimedCursor(self._real.cursor(), self.log)

    def __getattr__(self, name):
        return getattr(self._real, name)


class _TimedCursor:
    def __init__(self, real, log) -> None:
        self._real, self._log = real, log

    def execute(self, sql, params=None):
        started = time.perf_counter()
        result = self._real.execute(sql, params)
        self._log.append((sql, time.perf_counter() - started))
        return result

    def __getattr__(self, name):
        return getattr(self._real, name)


def _snowflake_txn_seconds(log) -> float:
    begin = next(i for i, (sql, _) in enumerate(log) if sql == "BEGIN")
    commit = next(i for i, (sql, _) in enumerate(log) if sql == "COMMIT")
    return sum(seconds for _, seconds in log[begin : commit + 1])


def bench_snowflake(rows: int, count: int, hasher: KeyedHasher, repeat: int) -> list[Measurement]:
    with LocalFakesnow() as server:
        admin = server.connect()
        cur = admin.cursor()
        cur.execute("CREATE DATABASE IF NOT EXISTS BENCH")
        cur.execute("CREATE SCHEMA IF NOT EXISTS BENCH.S")
        scan = (
            "SELECT COUNT(*), "
            + ", ".join(f"MAX(LENGTH({c}))" for c in SCAN_COLUMNS)
            + f" FROM BENCH.S.{TABLE}"
        )
        measurements = []
        for _ in range(repeat):
            cur.execute(
                f"CREATE OR REPLACE TABLE BENCH.S.{TABLE} AS SELECT 'conv-' || i AS CONVERSATION_ID,"
                f" 'user' || (i % {DISTINCT_USERS}) || '@example.com' AS CUSTOMER_EMAIL,"
                f" '+4420' || LPAD((i % {DISTINCT_USERS})::VARCHAR, 8, '0') AS CUSTOMER_PHONE,"
                f" SHA2('user' || (i % {DISTINCT_USERS}) || '@example.com', 256) AS EMAIL_SHA256"
                f" FROM (SELECT SEQ4() AS i FROM TABLE(GENERATOR(ROWCOUNT => {rows})))"
            )
            full_scan = _median_seconds(lambda: cur.execute(scan).fetchall())
            timed = _TimedConnection(server.connect())
            started = time.perf_counter()
            (result,) = erase_snowflake(
                timed, mapping("snowflake", database="BENCH", schema="S"), subjects(count), hasher
            )
            total = time.perf_counter() - started
            timed.close()
            dml = [(sql, sec) for sql, sec in timed.log if sql.startswith(("DELETE", "UPDATE"))]
            measurements.append(
                Measurement(
                    engine="Snowflake (fakesnow 0.12.1)",
                    rows=rows,
                    subjects=count,
                    keys=len(COLUMNS) * count,
                    rows_deleted=result.rows_affected,
                    dml_statements=len(dml),
                    full_scan_s=full_scan,
                    dml_s=sum(sec for _, sec in dml),
                    table_txn_s=_snowflake_txn_seconds(timed.log),
                    run_total_s=total,
                )
            )
        admin.close()
        return measurements


def _median_seconds(action, times: int = 3) -> float:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


# -- BigQuery (bqemulator) --------------------------------------------------------------------------------


class _TimedClient:
    """Waits for every job and times it, so a job's time is its whole run on the emulator."""

    def __init__(self, real) -> None:
        self._real, self.log = real, []

    def query(self, sql, *args, **kwargs):
        started = time.perf_counter()
        job = self._real.query(sql, *args, **kwargs)
        job.result()
        self.log.append((sql, time.perf_counter() - started))
        return job

    def __getattr__(self, name):
        return getattr(self._real, name)


def bench_bigquery(rows: int, count: int, hasher: KeyedHasher, repeat: int) -> list[Measurement]:
    with LocalBigQueryEmulator() as emulator:
        client = emulator.client()
        client.create_dataset("bench", exists_ok=True)
        path = f"{client.project}.bench.{TABLE}"
        email = f"CONCAT('user', CAST(MOD(i, {DISTINCT_USERS}) AS STRING), '@example.com')"
        scan = "SELECT COUNT(*), " + ", ".join(f"MAX(LENGTH({c}))" for c in SCAN_COLUMNS) + f" FROM `{path}`"
        measurements = []
        for _ in range(repeat):
            client.delete_table(path, not_found_ok=True)
            client.query(
                f"CREATE TABLE `{path}` AS SELECT CONCAT('conv-', CAST(i AS STRING)) AS CONVERSATION_ID,"
                f" {email} AS CUSTOMER_EMAIL,"
                f" CONCAT('+4420', LPAD(CAST(MOD(i, {DISTINCT_USERS}) AS STRING), 8, '0')) AS CUSTOMER_PHONE,"
                f" TO_HEX(SHA256({email})) AS EMAIL_SHA256"
                f" FROM UNNEST(GENERATE_ARRAY(0, {rows - 1})) AS i"
            ).result()
            full_scan = _median_seconds(lambda: list(client.query(scan).result()))
            timed = _TimedClient(client)
            started = time.perf_counter()
            (result,) = erase_bigquery(timed, mapping("bigquery", dataset="bench"), subjects(count), hasher)
            total = time.perf_counter() - started
            scripts = [(sql, sec) for sql, sec in timed.log if "BEGIN TRANSACTION" in sql]
            dml = [
                line
                for sql, _ in scripts
                for line in sql.split("\n")
                if line.startswith(("DELETE", "UPDATE"))
            ]
            measurements.append(
                Measurement(
                    engine="BigQuery (bqemulator 1.4.0)",
                    rows=rows,
                    subjects=count,
                    keys=len(COLUMNS) * count,
                    rows_deleted=result.rows_affected,
                    dml_statements=len(dml),
                    full_scan_s=full_scan,
                    dml_s=None,  # one script job: its statements are not timed apart
                    table_txn_s=sum(sec for _, sec in scripts),
                    run_total_s=total,
                )
            )
        client.close()
        return measurements


def median_measurement(runs: list[Measurement]) -> Measurement:
    """Medians of the timings over repeated runs; counts from the first run (they are identical)."""
    first = runs[0]
    dml = None if first.dml_s is None else statistics.median(m.dml_s for m in runs)
    return Measurement(
        engine=first.engine,
        rows=first.rows,
        subjects=first.subjects,
        keys=first.keys,
        rows_deleted=first.rows_deleted,
        dml_statements=max(m.dml_statements for m in runs),
        full_scan_s=statistics.median(m.full_scan_s for m in runs),
        dml_s=dml,
        table_txn_s=statistics.median(m.table_txn_s for m in runs),
        run_total_s=statistics.median(m.run_total_s for m in runs),
    )


def print_table(measurements: list[Measurement]) -> None:
    print("| engine | rows | subjects | keys loaded | rows deleted | DML statements (target 1) | full scan "
          "| DML statement (x scan) | table transaction (x scan) | whole run |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in measurements:
        dml = "one script job" if m.dml_s is None else f"{m.dml_s:.3f} s ({m.dml_s / m.full_scan_s:.1f}x)"
        txn = f"{m.table_txn_s:.3f} s ({m.table_txn_s / m.full_scan_s:.1f}x)"
        print(
            f"| {m.engine} | {m.rows:,} | {m.subjects:,} | {m.keys:,} | {m.rows_deleted:,} "
            f"| {m.dml_statements} | {m.full_scan_s:.3f} s | {dml} | {txn} | {m.run_total_s:.2f} s |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--engines", default="snowflake,bigquery")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine; timings are medians")
    args = parser.parse_args()
    hasher = KeyedHasher(b"benchmark-key-0123456789abcdef")
    runners = {"snowflake": bench_snowflake, "bigquery": bench_bigquery}
    measurements = [
        median_measurement(runners[name](args.rows, args.subjects, hasher, args.repeat))
        for name in args.engines.split(",")
    ]
    print_table(measurements)


if __name__ == "__main__":
    main()
