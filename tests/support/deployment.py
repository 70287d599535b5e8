"""A distributed Airflow deployment on this machine, without containers: the docker-compose topology as
processes, for the integration tests (tests/deployment/) and for anything else that needs a real
api-server (a browser test of the UI).

- PostgreSQL: a fresh database per deployment in the local cluster (metadata DB and Celery results) and a
  second one for the erasure ledger, both dropped at the end.
- Redis: the Celery broker, on a database index no other run is using (claimed with a key, flushed at
  the end).
- Processes, each in its own session (process group) with its output in a log file: api-server,
  scheduler, dag-processor, triggerer and Celery workers, each worker under its own name (the task
  instances' `hostname`). They are stopped by process group; only what this harness started.
- The rehearsal world (genesys_devtools.rehearsal): the Genesys Cloud sandbox in this process, both local
  warehouses, the purge config with the ledger on PostgreSQL.
- Users from genesys_devtools.local_airflow.USERS with random passwords (`credentials`), talking to the
  REST API through `api(user)`.

Without a PostgreSQL or Redis server `unavailable_reason()` says which is missing (the tests skip).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import requests

from genesys_devtools.local_airflow import USERS, WORKER_HOSTNAME_ENV, server_environment, write_passwords
from genesys_devtools.local_engines import free_port
from genesys_devtools.rehearsal import Rehearsal
from genesys_sandbox import SandboxSettings

PG_HOST, PG_PORT, PG_USER, PG_MAINTENANCE_DB = "127.0.0.1", 5432, "postgres", "test"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_CLAIM_KEY = "genesys-erasure-it:claimed"
LEDGER_CONN_ID = "genesys_erasure_ledger"
LOCAL_AIRFLOW = "genesys_devtools.local_airflow"
# Fast loops for a test: the DAG folder parsed once, tasks and triggers picked up within a second.
FAST_LOOPS = {
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # manual runs only: no scheduled run on unpause
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
    "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
    "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
}

T = TypeVar("T")


def unavailable_reason() -> str | None:
    """Why a deployment cannot start here (no PostgreSQL or Redis server), or None."""
    import psycopg2
    import redis

    try:
        psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_MAINTENANCE_DB, connect_timeout=3
        ).close()
    except psycopg2.Error as exc:
        where = f"{PG_HOST}:{PG_PORT} (user {PG_USER}, database {PG_MAINTENANCE_DB})"
        return f"no PostgreSQL at {where}: {str(exc).strip()}"
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"no Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}"
    return None


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float, check: Callable[[], None] | None = None
) -> T:
    """Poll `probe` every half second until it returns something truthy; `check` raises early when a
    component died. Waiting on other processes is real time: there is no clock to advance."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if check is not None:
            check()
        value = probe()
        if value:
            # the test's own timeline, shown with `-s` or in a failure's captured output
            print(f"[deployment] {what}: after {time.monotonic() - started:.1f}s")
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


@dataclass
class Component:
    """One Airflow process in its own session (process group), stopped by signalling the group."""

    name: str
    process: subprocess.Popen
    log_path: Path
    stopped: bool = False  # stopped on purpose: its exit is not a failure

    def alive(self) -> bool:
        return self.process.poll() is None

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM to the main process only, as `docker compose stop` or Kubernetes does: a Celery worker
        stops taking tasks, finishes those it runs, then exits. Returns the exit code."""
        self.stopped = True
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def signal_group(self, sig: signal.Signals) -> None:
        self.stopped = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def reap(self, timeout: float) -> None:
        """Wait for the main process, SIGKILL the group if it outlives `timeout`, and in any case the
        children it left behind in its group."""
        try:
            self.process.wait(timeout=max(timeout, 0.1))
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.signal_group(signal.SIGKILL)

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


class AirflowApi:
    """The public REST API (/api/v2) as one user: a JWT from /auth/token, JSON in and out."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        answer = self.http.post(
            f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body)


@dataclass
class CeleryDeployment:
    """Start with `with CeleryDeployment(workdir, settings) as deployment:`."""

    workdir: Path
    settings: SandboxSettings
    workers: tuple[str, ...] = ("worker-a", "worker-b")
    credentials: dict[str, str] = field(default_factory=lambda: {u: secrets.token_urlsafe(12) for u in USERS})
    components: dict[str, Component] = field(default_factory=dict)
    # Airflow settings on top of FAST_LOOPS, for every component (e.g. a shorter heartbeat timeout)
    airflow_overrides: dict[str, str] = field(default_factory=dict)
    # A first retry delay for every task in place of the DAGs' own (their default_args fix it, so no
    # Airflow setting can), set by a cluster policy of this deployment (`write_retry_delay_policy`); the
    # exponential backoff and its cap stay the DAGs'. None = the DAGs' delay, as production has it.
    task_retry_delay: timedelta | None = None

    def __post_init__(self) -> None:
        self.run_tag = f"airflow_it_{secrets.token_hex(4)}"
        self.api_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.rehearsal: Rehearsal | None = None
        self.redis_db: int | None = None
        self._databases: list[str] = []
        self.metadata_url = _sqlalchemy_url(self.run_tag)
        self.ledger_db = f"{self.run_tag}_ledger"
        self.ledger_url = _sqlalchemy_url(self.ledger_db)
        self._env: dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> CeleryDeployment:
        try:
            self.start()
        except BaseException as exc:
            exc.add_note(self.logs())  # the logs live in a temporary directory: show them now
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        started = time.monotonic()
        metadata_db, ledger_db = self._create_databases()
        self.redis_db = self._claim_redis_db()
        airflow_home = self.workdir / "airflow"
        passwords = write_passwords(airflow_home / "passwords.json", self.credentials)
        if self.task_retry_delay is not None:
            write_retry_delay_policy(airflow_home, self.task_retry_delay)
        # this session's own Airflow settings (tests/conftest.py) stay out of the deployment's
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env = {
            **inherited,
            **server_environment(
                airflow_home, api_port=self.api_port, metadata_db=_sqlalchemy_url(metadata_db),
                passwords_file=passwords,
            ),
            **FAST_LOOPS,
            **self.airflow_overrides,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + _sqlalchemy_url(metadata_db),
            f"AIRFLOW_CONN_{LEDGER_CONN_ID.upper()}": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{ledger_db}",
        }  # fmt: skip
        # migrate while the sandbox and the warehouses come up
        prepare = self._spawn("prepare", [sys.executable, "-m", LOCAL_AIRFLOW, "prepare"], env)
        self.rehearsal = Rehearsal(
            self.workdir / "erasure-home", self.settings, config_overrides={"ledger_conn_id": LEDGER_CONN_ID}
        )
        self.rehearsal.start()
        env.update(self.rehearsal.environment())
        print(f"[deployment] sandbox and warehouses up: after {time.monotonic() - started:.1f}s")
        if prepare.process.wait(timeout=300) != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{prepare.tail()}")
        print(f"[deployment] metadata DB migrated: after {time.monotonic() - started:.1f}s")
        self._env = env
        self._start_components(env)
        self._wait_until_ready()

    def _start_components(self, env: dict[str, str]) -> None:
        for name, extra in (("api-server", []), ("scheduler", []), ("dag-processor", []),
                            ("triggerer", ["--skip-serve-logs"])):  # fmt: skip
            self._spawn(name, [sys.executable, "-m", "airflow", name, *extra], env)
        for name in self.workers:
            self._start_worker(name, env)

    def _start_worker(self, name: str, env: dict[str, str]) -> Component:
        """A Celery worker that names itself `name` (celery@name, and `hostname` on its task instances).
        The workers share this machine's log folder, so none serves logs over HTTP."""
        worker_env = {
            **env,
            WORKER_HOSTNAME_ENV: name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "genesys_devtools.local_airflow.hostname",
        }
        # one task at a time: a busy worker takes no second message, so mapped tasks queued together spread
        # over the idle workers (the default concurrency lets the first worker to ask take them all)
        argv = [sys.executable, "-m", "airflow", "celery", "worker", "--celery-hostname", name,
                "--concurrency", "1", "--skip-serve-logs", "--without-mingle", "--without-gossip",
                "--pid", str(self.workdir / f"{name}.pid")]  # fmt: skip
        return self._spawn(name, argv, worker_env)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Component:
        log_path = self.workdir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                cwd=self.workdir, start_new_session=True,
            )  # fmt: skip
        component = Component(name, process, log_path)
        self.components[name] = component
        return component

    def _wait_until_ready(self, timeout: float = 240.0) -> None:
        def healthy() -> bool:
            with contextlib.suppress(requests.RequestException):
                health = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                return all(
                    health.get(part, {}).get("status") == "healthy"
                    for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                )
            return False

        wait_for("the api-server, scheduler, triggerer and dag-processor", healthy, timeout, self.check_alive)
        for name in self.workers:
            # Celery prints "celery@<name> ready." once it consumes from the queue
            wait_for(f"Celery worker {name}", lambda n=name: f"@{n} ready" in self.components[n].tail(20000),
                     timeout, self.check_alive)  # fmt: skip

    def restart(self, name: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 60.0) -> Component:
        """Stop one component (its whole process group, with `sig`) and start it again under the same name
        and settings, as a supervisor (systemd, Kubernetes) would after a crash or a deploy."""
        old = self.components[name]
        old.signal_group(sig)
        old.reap(timeout)
        if name in self.workers:
            return self._start_worker(name, self._env)
        extra = ["--skip-serve-logs"] if name == "triggerer" else []
        return self._spawn(name, [sys.executable, "-m", "airflow", name, *extra], self._env)

    def check_alive(self) -> None:
        """Raise with the log of a component that exited (a worker stopped on purpose is left out)."""
        for component in self.components.values():
            if component.name != "prepare" and not component.stopped and not component.alive():
                code = component.process.returncode
                raise RuntimeError(f"{component.name} exited with {code}:\n{component.tail()}")

    def close(self) -> None:
        # all at once: each may take seconds to finish its loop
        started = time.monotonic()
        for component in self.components.values():
            component.signal_group(signal.SIGTERM)
        for component in self.components.values():
            component.reap(started + 20 - time.monotonic())
        print(f"[deployment] components stopped in {time.monotonic() - started:.1f}s")
        if self.rehearsal is not None:
            self.rehearsal.close()
        self._release_redis_db()
        self._drop_databases()

    # -- what a test uses --------------------------------------------------------------------------------

    @property
    def sandbox(self):
        return self.rehearsal.sandbox

    def api(self, user: str) -> AirflowApi:
        return AirflowApi(self.base_url, user, self.credentials[user])

    def wait_for_dags(self, *dag_ids: str, timeout: float = 120) -> None:
        """Until the dag-processor has parsed each DAG into the metadata DB (the API lists it)."""
        admin = self.api("admin")
        for dag_id in dag_ids:
            probe = lambda d=dag_id: admin.get("/dags", dag_id_pattern=d)["dags"]  # noqa: E731
            wait_for(f"{dag_id} parsed", probe, timeout, self.check_alive)

    def logs(self, names: Iterable[str] | None = None, chars: int = 4000) -> str:
        """The end of each component's log (for a failure report)."""
        chosen = names or self.components
        return "\n".join(f"===== {n} =====\n{self.components[n].tail(chars)}" for n in chosen)

    # -- PostgreSQL and Redis --------------------------------------------------------------------------

    def _admin(self):
        import psycopg2

        connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_MAINTENANCE_DB)
        connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        return connection

    def terminate_sessions(self, database: str) -> int:
        """Drop every session of one of this deployment's databases (`pg_terminate_backend`), as a
        database failover or a connection-killing proxy would. Returns how many were dropped."""
        if database not in self._databases:
            raise ValueError("only a database of this deployment")
        sql = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
               "WHERE datname = %s AND pid <> pg_backend_pid()")  # fmt: skip
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            cursor.execute(sql, (database,))
            return int(cursor.fetchone()[0])

    def _create_databases(self) -> tuple[str, str]:
        names = (self.run_tag, self.ledger_db)
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            for name in names:
                cursor.execute(f'CREATE DATABASE "{name}"')
                self._databases.append(name)
        return names

    def _drop_databases(self) -> None:
        if not self._databases:
            return
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            for name in self._databases:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._databases.clear()

    def _redis(self, db: int):
        import redis

        return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_connect_timeout=3)

    def _claim_redis_db(self) -> int:
        """An empty database index, claimed with a key (expiring after a day, should this run die) so a
        concurrent run picks another; index 0 is left to whatever else uses this Redis."""
        count = int(self._redis(0).config_get("databases").get("databases", 16))
        for db in secrets.SystemRandom().sample(range(1, count), count - 1):
            client = self._redis(db)
            if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, self.run_tag, nx=True, ex=86400):
                return db
        raise RuntimeError(f"every Redis database index at {REDIS_HOST}:{REDIS_PORT} is in use")

    def _release_redis_db(self) -> None:
        if self.redis_db is None:
            return
        client = self._redis(self.redis_db)
        if client.get(REDIS_CLAIM_KEY) == self.run_tag.encode():
            client.flushdb()
        self.redis_db = None


def write_retry_delay_policy(airflow_home: Path, delay: timedelta) -> Path:
    """A cluster policy (`airflow_local_settings.task_policy`, imported by every component from
    `$AIRFLOW_HOME/config`) giving every task `delay` as its first retry delay. A deployment-level
    override: the dag-processor applies it while parsing, so the serialized DAG the scheduler times
    retries by carries it, and the DAG files and their default_args stay as production has them."""
    path = airflow_home / "config" / "airflow_local_settings.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '"""Written by tests/support/deployment.py: this test deployment\'s retry delay."""\n\n'
        "from datetime import timedelta\n\n\n"
        "def task_policy(task):\n"
        f"    task.retry_delay = timedelta(seconds={delay.total_seconds()!r})\n",
        encoding="utf-8",
    )
    return path


def _sqlalchemy_url(database: str) -> str:
    return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
