"""Benchmark: erase 10,000 subjects from a 1,000,000-row table on the local warehouses.

Targets: ONE DML statement per table per run, and at most 2x the wall time of one full scan of the mapped
columns. Printed: the DML statement alone (Snowflake; BigQuery runs the transaction as one script job), the
table's whole transaction (with its counts), and the whole run (mapping check, retention lookup, key load,
transaction, clean-up); then each statement of the table's transaction against the same scan. BigQuery's
transaction is one script job, so its statements are timed apart as separate jobs on a fresh copy of the
table: a count, the DML in a script without a transaction, the same inside BEGIN/COMMIT, an empty job.

    .venv/bin/python bench/bench_warehouse.py [--rows N] [--subjects N] [--engines snowflake,bigquery]

Needs .venv-bq for BigQuery (`make venv`). Prints a markdown table. Numbers depend on the machine; fakesnow
and bqemulator are DuckDB underneath, so they say more about statement shape than about the real services.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT), str(ROOT / "bench")]

from _report import machine_line  # noqa: E402

from genesys_devtools.local_engines import LocalBigQueryEmulator, LocalFakesnow  # noqa: E402
from genesys_erasure.hashing import KeyedHasher  # noqa: E402
from genesys_erasure.identifiers import Identifier, IdentifierKind  # noqa: E402
from genesys_erasure.warehouse.bigquery import _Session, check_bigquery_mapping, erase_bigquery  # noqa: E402
from genesys_erasure.warehouse.mapping import WarehouseMapping  # noqa: E402
from genesys_erasure.warehouse.planning import (  # noqa: E402
    ErasureSubjects,
    build_key_set,
    key_groups_for,
    plan_bigquery_table,
)
from genesys_erasure.warehouse.snowflake import erase_snowflake  # noqa: E402


class Clock:
    """Wall time, and the CPU time of the engine's server process (all threads, from /proc/PID/task/*/
    schedstat, in ns). On a shared machine the wall time of a 50 ms statement swings with the load;
    the CPU the engine spent on it much less, so both are reported."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid

    def now(self) -> tuple[float, float]:
        return time.perf_counter(), self._engine_cpu()

    def _engine_cpu(self) -> float:
        if self.pid is None:
            return 0.0
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
        return total / 1e9

    def time(self, action) -> tuple[float, float]:
        wall, cpu = self.now()
        action()
        wall_after, cpu_after = self.now()
        return wall_after - wall, max(0.0, cpu_after - cpu)


CLOCK = Clock()
WALL, CPU = 0, 1

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
    # Each statement of the table's transaction, in order: (label, its time / the full scan beside it).
    statements: list[tuple[str, float]] = field(default_factory=list)


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
        result = []
        spent = CLOCK.time(lambda: result.append(self._real.execute(sql, params)))
        self._log.append((sql, spent))
        return result[0]

    def __getattr__(self, name):
        return getattr(self._real, name)


def _snowflake_txn(log) -> list[tuple[str, float]]:
    """The table's transaction, BEGIN to COMMIT, one labelled entry per statement."""
    begin = next(i for i, (sql, _) in enumerate(log) if sql == "BEGIN")
    commit = next(i for i, (sql, _) in enumerate(log) if sql == "COMMIT")
    labelled, seen_dml = [], False
    for sql, seconds in log[begin : commit + 1]:
        if sql.startswith(("DELETE", "UPDATE")):
            label, seen_dml = f"{sql.split(' ', 1)[0]} (the DML)", True
        elif sql.startswith("SELECT COUNT"):
            label = "count after the DML" if seen_dml else "count before the DML"
        else:
            label = sql
        labelled.append((label, seconds))
    return labelled


def bench_snowflake(rows: int, count: int, hasher: KeyedHasher, repeat: int) -> list[list[Measurement]]:
    """Per run: [measured in wall time, measured in the engine's CPU time]."""
    with LocalFakesnow() as server:
        CLOCK.pid = server.pid
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
            conn = mapping("snowflake", database="BENCH", schema="S")
            results, total = _timed_call(erase_snowflake, timed, conn, subjects(count), hasher)
            timed.close()
            dml = [spent for sql, spent in timed.log if sql.startswith(("DELETE", "UPDATE"))]
            txn = _snowflake_txn(timed.log)
            measurements.append(
                [
                    Measurement(
                        engine="Snowflake (fakesnow 0.12.1)",
                        rows=rows,
                        subjects=count,
                        keys=len(COLUMNS) * count,
                        rows_deleted=results[0].rows_affected,
                        dml_statements=len(dml),
                        full_scan_s=full_scan[i],
                        dml_s=_total(dml)[i],
                        table_txn_s=_total(spent for _, spent in txn)[i],
                        run_total_s=total[i],
                        statements=[(label, spent[i] / full_scan[i]) for label, spent in txn],
                    )
                    for i in (WALL, CPU)
                ]
            )
        admin.close()
        return measurements


def _median_seconds(action, times: int = 3) -> tuple[float, float]:
    spans = [CLOCK.time(action) for _ in range(times)]
    return statistics.median(w for w, _ in spans), statistics.median(c for _, c in spans)


def _total(spans) -> tuple[float, float]:
    spans = list(spans)
    return sum(w for w, _ in spans), sum(c for _, c in spans)


def _timed_call(function, *args, bulk_min_keys=None):
    """`function(*args)` and the (wall, engine CPU) seconds it took."""
    out = []
    kwargs = {} if bulk_min_keys is None else {"bulk_min_keys": bulk_min_keys}
    spent = CLOCK.time(lambda: out.append(function(*args, **kwargs)))
    return out[0], spent


# -- BigQuery (bqemulator) --------------------------------------------------------------------------------


class _TimedClient:
    """Waits for every job and times it, so a job's time is its whole run on the emulator."""

    def __init__(self, real) -> None:
        self._real, self.log = real, []

    def query(self, sql, *args, **kwargs):
        jobs = []
        spent = CLOCK.time(lambda: jobs.append(self._real.query(sql, *args, **kwargs)) or jobs[0].result())
        self.log.append((sql, spent))
        return jobs[0]

    def __getattr__(self, name):
        return getattr(self._real, name)


def bench_bigquery(rows: int, count: int, hasher: KeyedHasher, repeat: int) -> list[list[Measurement]]:
    """Per run: [measured in wall time, measured in the engine's CPU time]."""
    with LocalBigQueryEmulator() as emulator:
        CLOCK.pid = emulator.pid
        client = emulator.client()
        client.create_dataset("bench", exists_ok=True)
        path = f"{client.project}.bench.{TABLE}"
        email = f"CONCAT('user', CAST(MOD(i, {DISTINCT_USERS}) AS STRING), '@example.com')"
        scan = "SELECT COUNT(*), " + ", ".join(f"MAX(LENGTH({c}))" for c in SCAN_COLUMNS) + f" FROM `{path}`"

        def seed() -> tuple[float, float]:
            """A fresh table; returns the median of three full scans of it."""
            client.delete_table(path, not_found_ok=True)
            client.query(
                f"CREATE TABLE `{path}` AS SELECT CONCAT('conv-', CAST(i AS STRING)) AS CONVERSATION_ID,"
                f" {email} AS CUSTOMER_EMAIL,"
                f" CONCAT('+4420', LPAD(CAST(MOD(i, {DISTINCT_USERS}) AS STRING), 8, '0')) AS CUSTOMER_PHONE,"
                f" TO_HEX(SHA256({email})) AS EMAIL_SHA256"
                f" FROM UNNEST(GENERATE_ARRAY(0, {rows - 1})) AS i"
            ).result()
            return _median_seconds(lambda: list(client.query(scan).result()))

        measurements = []
        for _ in range(repeat):
            full_scan = seed()
            conn = mapping("bigquery", dataset="bench")
            timed = _TimedClient(client)
            # bqemulator cannot load into the session's table (README, "Warehouse copies"): this benchmark
            # measures the table's statements, so it keeps the keys on the bound-statement path.
            results, total = _timed_call(
                erase_bigquery, timed, conn, subjects(count), hasher, bulk_min_keys=10**12
            )
            scripts = [(sql, spent) for sql, spent in timed.log if "BEGIN TRANSACTION" in sql]
            dml = [
                line
                for sql, _ in scripts
                for line in sql.split("\n")
                if line.startswith(("DELETE", "UPDATE"))
            ]
            parts = _bigquery_statements(client, conn, count, hasher, seed)
            measurements.append(
                [
                    Measurement(
                        engine="BigQuery (bqemulator 1.4.0)",
                        rows=rows,
                        subjects=count,
                        keys=len(COLUMNS) * count,
                        rows_deleted=results[0].rows_affected,
                        dml_statements=len(dml),
                        full_scan_s=full_scan[i],
                        dml_s=None,  # one script job: its statements are timed apart below
                        table_txn_s=_total(spent for _, spent in scripts)[i],
                        run_total_s=total[i],
                        statements=[(label, ratios[i]) for label, ratios in parts],
                    )
                    for i in (WALL, CPU)
                ]
            )
        client.close()
        return measurements


def _bigquery_statements(client, conn, count, hasher, seed) -> list[tuple[str, tuple[float, float]]]:
    """The statements of one table's script, each as its own job in a session holding the same keys, on
    a fresh table, each over the full scan of that table (wall, engine CPU)."""
    tables = check_bigquery_mapping(client, conn)
    groups = key_groups_for(tables)
    keys_table = "bench_keys"
    session = _Session.open_with_keys(
        client, None, keys_table, build_key_set(subjects(count), hasher, groups)
    )
    plan = plan_bigquery_table(tables[0], client.project, conn.dataset, keys_table, groups, date.today())
    (dml,) = [line for line in plan.script.split("\n") if line.startswith(("DELETE", "UPDATE"))]

    def timed(sql: str, scan: tuple[float, float]) -> tuple[float, float]:
        spent = CLOCK.time(lambda: session.run(sql))
        return spent[WALL] / scan[WALL], spent[CPU] / scan[CPU]

    try:
        scan = seed()
        parts = [
            ("empty job (SELECT 1): HTTP, polling", timed("SELECT 1", scan)),
            (
                "count: SET v = (SELECT COUNT(*) ...)",
                timed(f"DECLARE v INT64;\nSET v = ({plan.count_sql});", scan),
            ),
            ("the DML, in a script without a transaction", timed(f"DECLARE v INT64;\n{dml}", scan)),
        ]
        scan = seed()
        in_txn = timed(f"BEGIN TRANSACTION;\n{dml}\nCOMMIT TRANSACTION;", scan)
        without = parts[2][1]
        parts.append(
            (
                "BEGIN/COMMIT around the DML (in-txn minus without)",
                (in_txn[WALL] - without[WALL], in_txn[CPU] - without[CPU]),
            )
        )
    finally:
        session.close(keys_table)
    return parts


def median_measurement(runs: list[Measurement]) -> Measurement:
    """Medians of the timings over repeated runs; counts from the first run (they are identical)."""
    first = runs[0]
    dml = None if first.dml_s is None else statistics.median(m.dml_s for m in runs)
    statements = [
        (label, statistics.median(m.statements[i][1] for m in runs))
        for i, (label, _) in enumerate(first.statements)
    ]
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
        statements=statements,
    )


def print_table(measurements: list[Measurement], clock: str) -> None:
    print(f"**{clock}**")
    print()
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
    print()
    print("| engine | statement of the table's transaction (median of the runs) | x full scan |")
    print("|---|---|---:|")
    for m in measurements:
        for label, ratio in m.statements:
            print(f"| {m.engine} | {label} | {ratio:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--engines", default="snowflake,bigquery")
    parser.add_argument("--repeat", type=int, default=5, help="runs per engine; timings are medians")
    args = parser.parse_args()
    hasher = KeyedHasher(b"benchmark-key-0123456789abcdef")
    runners = {"snowflake": bench_snowflake, "bigquery": bench_bigquery}
    runs = [runners[name](args.rows, args.subjects, hasher, args.repeat) for name in args.engines.split(",")]
    print(machine_line())
    for i, clock in ((WALL, "wall time"), (CPU, "CPU time of the engine's server process")):
        print()
        print_table([median_measurement([run[i] for run in engine]) for engine in runs], clock)


if __name__ == "__main__":
    main()
