"""Airflow on this machine without containers: the settings every component of a local deployment shares
(`make airflow`'s standalone, the Celery integration test's processes), and its one-off preparation.

- Every component runs `airflow` from the virtualenv (standalone starts its children by name from PATH,
  so the virtualenv's bin/ goes first on PATH) with this checkout's include/ on PYTHONPATH.
- The api-server listens on 127.0.0.1:<port>; workers reach the Execution API there
  (`[core] execution_api_server_url`), else every task fails connecting to :8080.
- The SimpleAuthManager's users and roles come from USERS, their passwords from a file written here (no
  password is generated and printed).
- The JWT and API secrets are shared by every component: a task's token is signed by the scheduler and
  checked by the api-server.

`python -m genesys_devtools.local_airflow prepare` (with the deployment's environment) migrates the
metadata database and creates the warehouse DML pool, as docker-compose's airflow-init does.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
# The three roles of the README's users table: the data engineer (admin), the analyst who triggers and
# approves ad-hoc erasures (user: may trigger DAGs and answer approvals), the auditor (viewer: reads).
USERS = {"admin": "admin", "analyst": "user", "auditor": "viewer"}
# Set on a worker, names it in its task instances' `hostname` (workers on one machine share its name).
WORKER_HOSTNAME_ENV = "GENESYS_WORKER_HOSTNAME"


def hostname() -> str:
    """`[core] hostname_callable` for several workers on one machine: $GENESYS_WORKER_HOSTNAME, else the
    machine's name."""
    return os.environ.get(WORKER_HOSTNAME_ENV) or socket.getfqdn()


def write_passwords(path: Path, passwords: Mapping[str, str]) -> Path:
    """The SimpleAuthManager's passwords file ({user: password}); entries it finds are kept as they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(passwords)) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def server_environment(
    airflow_home: Path, *, api_port: int, metadata_db: str, passwords_file: Path
) -> dict[str, str]:
    """What every Airflow component of one local deployment shares, on top of the project's variables
    (genesys_devtools.rehearsal). Secrets are fresh per call: call once per deployment."""
    from cryptography.fernet import Fernet

    venv_bin = Path(sys.executable).parent
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        # the default starts 32 task processes at once; two cores do better with fewer
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "PATH": os.pathsep.join([str(venv_bin), os.environ.get("PATH", "")]),
        "PYTHONPATH": str(REPO_ROOT / "include"),
    }


def prepare() -> None:
    """Migrate the metadata DB of the environment's deployment and create the warehouse DML pool."""
    from airflow.utils.db import initdb

    from genesys_devtools.demo_warehouses import ensure_warehouse_pool
    from genesys_erasure.tasks.policy import WAREHOUSE_POOL

    initdb()
    ensure_warehouse_pool(WAREHOUSE_POOL)


if __name__ == "__main__":
    if sys.argv[1:] != ["prepare"]:
        sys.exit("usage: python -m genesys_devtools.local_airflow prepare")
    prepare()
