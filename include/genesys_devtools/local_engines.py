"""Local stand-ins for the warehouses, for the demo, the tests and the benchmark.

- Snowflake: fakesnow's server mode (`python -m fakesnow -s`), reached by the real
  snowflake-connector-python over HTTP (`protocol="http"`).
- BigQuery: bqemulator, which runs in its own virtualenv (.venv-bq) through `bqemulator_launcher.py`
  (it cannot download DuckDB's spatial extension offline), reached by the real google-cloud-bigquery.

Both bind to a free loopback port and are stopped by terminating the process group they were started in.
Seeding helpers create a table and load rows without streaming inserts (a real service would keep
streamed rows in the streaming buffer, out of reach of DML).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).resolve().with_name("bqemulator_launcher.py")
BQEMULATOR_PYTHON_ENV = "GENESYS_BQEMULATOR_PYTHON"


class EngineStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_bqemulator_python() -> Path | None:
    """The interpreter of .venv-bq (or $GENESYS_BQEMULATOR_PYTHON); None when it is not installed."""
    configured = os.environ.get(BQEMULATOR_PYTHON_ENV)
    candidate = Path(configured) if configured else REPO_ROOT / ".venv-bq" / "bin" / "python"
    return candidate if candidate.exists() else None


class _Process:
    """A child server in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self._log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)
        self._proc = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def check_alive(self) -> None:
        if self._proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise EngineStartError(f"{self.name} exited with {self._proc.returncode}:\n{tail}")

    def stop(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=10)
        self._log.close()
        with contextlib.suppress(OSError):
            self.log_path.unlink()


def _wait_until(ready, process: _Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check_alive()
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.2)
    raise EngineStartError(f"{process.name} did not become ready within {timeout:.0f}s")


def _port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


class LocalFakesnow:
    """fakesnow server on 127.0.0.1:<free port>. Use as a context manager, or start()/stop()."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self._process: _Process | None = None

    def start(self, timeout: float = 60.0) -> LocalFakesnow:
        argv = [sys.executable, "-m", "fakesnow", "-s", "--host", "127.0.0.1", "-p", str(self.port)]
        if self.data_dir is not None:
            argv += ["-d", str(self.data_dir)]
        self._process = _Process("fakesnow", argv)
        _wait_until(lambda: _port_open(self.port), self._process, timeout)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    @property
    def pid(self) -> int | None:
        """The server's process id (the benchmark reads its CPU time); None when not running."""
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> LocalFakesnow:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_params(
        self, database: str | None = None, schema: str | None = None, paramstyle: str | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for `snowflake.connector.connect` (account/user/password are not checked)."""
        params: dict[str, Any] = {
            "account": "fakesnow",
            "user": "fake",
            "password": "fake",
            "host": "127.0.0.1",
            "port": self.port,
            "protocol": "http",
            "login_timeout": 30,
            "network_timeout": 120,
        }
        if database:
            params["database"] = database
        if schema:
            params["schema"] = schema
        if paramstyle:
            params["paramstyle"] = paramstyle
        return params

    def airflow_extras(self, database: str, schema: str) -> dict[str, Any]:
        """Extras of an Airflow `snowflake` connection for `ProtocolSnowflakeHook`."""
        return {"account": "fakesnow", "database": database, "host": "127.0.0.1", "port": self.port,
                "protocol": "http"}  # fmt: skip

    def connect(self, database: str | None = None, schema: str | None = None, paramstyle: str | None = None):
        import snowflake.connector

        return snowflake.connector.connect(**self.connection_params(database, schema, paramstyle))


class LocalBigQueryEmulator:
    """bqemulator (REST + gRPC) on free loopback ports, in-memory. Needs .venv-bq (see the Makefile)."""

    def __init__(self, project: str = "local-project", python: Path | None = None) -> None:
        self.project = project
        self.python = python or find_bqemulator_python()
        self.port = free_port()
        self.grpc_port = free_port()
        self._process: _Process | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> LocalBigQueryEmulator:
        if self.python is None:
            raise EngineStartError("bqemulator's virtualenv .venv-bq is missing: run `make venv`")
        argv = [str(self.python), str(LAUNCHER), "start", "--ephemeral", "--project", self.project,
                "--rest-host", "127.0.0.1", "--rest-port", str(self.port), "--grpc-host", "127.0.0.1",
                "--grpc-port", str(self.grpc_port), "--log-level", "warning"]  # fmt: skip
        self._process = _Process("bqemulator", argv, env={"BQEMU_ENABLE_FORMAT_EXTENSIONS": "false"})
        _wait_until(self._healthy, self._process, timeout)
        return self

    def _healthy(self) -> bool:
        import urllib.request

        with urllib.request.urlopen(f"{self.endpoint}/healthz", timeout=2) as response:
            return response.status == 200

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    @property
    def pid(self) -> int | None:
        """The emulator's process id (the benchmark reads its CPU time); None when not running."""
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> LocalBigQueryEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def airflow_extras(self) -> dict[str, Any]:
        """Extras of an Airflow connection for `bigquery_client_from_connection`."""
        return {"project": self.project, "endpoint": self.endpoint}

    def client(self):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.endpoint),
        )


# -- seeding ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedTable:
    """A table to create: name and (column, type) pairs, type one of STRING, DATE, INT."""

    name: str
    columns: tuple[tuple[str, str], ...]


_SNOWFLAKE_TYPES = {"STRING": "VARCHAR", "DATE": "DATE", "INT": "NUMBER"}
_BIGQUERY_TYPES = {"STRING": "STRING", "DATE": "DATE", "INT": "INT64"}

CONVERSATION_EVENTS = SeedTable(
    "CONVERSATION_EVENTS",
    (
        ("EVENT_ID", "STRING"),
        ("CONVERSATION_ID", "STRING"),
        ("EVENT_DATE", "DATE"),
        ("CUSTOMER_EMAIL", "STRING"),
        ("CUSTOMER_PHONE", "STRING"),
        ("EXTERNAL_CONTACT_ID", "STRING"),
        ("EMAIL_SHA256", "STRING"),
        ("PHONE_HMAC", "STRING"),
    ),
)


def conversation_event_row(
    event_id: str,
    conversation_id: str,
    event_date: date,
    *,
    email: str | None,
    phone: str | None,
    external_contact_id: str | None,
    hasher,
) -> dict[str, Any]:
    """One streamed conversation event as a warehouse would hold it, hash columns included."""
    import hashlib

    from genesys_erasure.identifiers import Identifier, IdentifierKind

    return {
        "EVENT_ID": event_id,
        "CONVERSATION_ID": conversation_id,
        "EVENT_DATE": event_date.isoformat(),
        "CUSTOMER_EMAIL": email,
        "CUSTOMER_PHONE": phone,
        "EXTERNAL_CONTACT_ID": external_contact_id,
        "EMAIL_SHA256": hashlib.sha256(email.encode()).hexdigest() if email else None,
        "PHONE_HMAC": hasher.hash_identifier(Identifier(IdentifierKind.PHONE, phone)) if phone else None,
    }


def seed_snowflake_table(
    connection, database: str, schema: str, table: SeedTable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """(Re)create `database.schema.table` and insert `rows` (bound as JSON, 5,000 rows a statement)."""
    db, sc, name = (f'"{p.upper()}"' for p in (database, schema, table.name))
    cursor = connection.cursor()
    try:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {db}.{sc}")
        columns = ", ".join(f'"{c}" {_SNOWFLAKE_TYPES[t]}' for c, t in table.columns)
        cursor.execute(f"CREATE OR REPLACE TABLE {db}.{sc}.{name} ({columns})")
        names = ", ".join(f'"{c}"' for c, _ in table.columns)
        values = ", ".join(f"value[{i}]::{_SNOWFLAKE_TYPES[t]}" for i, (_, t) in enumerate(table.columns))
        insert = (
            f"INSERT INTO {db}.{sc}.{name} ({names}) SELECT {values}"
            " FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%s)))"
        )
        for start in range(0, len(rows), 5000):
            chunk = [[row.get(c) for c, _ in table.columns] for row in rows[start : start + 5000]]
            cursor.execute(insert, (json.dumps(chunk),))
    finally:
        cursor.close()


def seed_bigquery_table(client, dataset: str, table: SeedTable, rows: Sequence[Mapping[str, Any]]) -> None:
    """(Re)create `dataset.table` and load `rows` with a load job (not streaming inserts)."""
    from google.cloud import bigquery

    client.create_dataset(dataset, exists_ok=True)
    ref = f"{client.project}.{dataset}.{table.name}"
    client.delete_table(ref, not_found_ok=True)
    schema = [bigquery.SchemaField(c, _BIGQUERY_TYPES[t]) for c, t in table.columns]
    client.create_table(bigquery.Table(ref, schema=schema))
    if not rows:
        return
    payload = "\n".join(json.dumps({c: row.get(c) for c, _ in table.columns}) for row in rows).encode()
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, schema=schema)
    client.load_table_from_file(io.BytesIO(payload), ref, job_config=config).result()
