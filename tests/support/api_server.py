"""A real `airflow api-server` for the slow browser and intake tests, on the test session's Airflow home and
metadata DB, with the plugin folder and the purge's environment the test points Airflow at; users `admin`
(admin), `auditor` (viewer) and `analyst` (user: may trigger DAG runs, not administer)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import REPO_ROOT

USERS = {
    "admin": "admin-password-for-the-test",
    "auditor": "auditor-password-for-the-test",
    "analyst": "analyst-password-for-the-test",
}
JWT_SECRET = "browser-test-jwt-secret-" + "0123456789abcdef" * 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class EvidenceServer:
    base_url: str
    users: dict[str, str]


def start_api_server(tmp_path: Path) -> Iterator[EvidenceServer]:
    """A real `airflow api-server` on the test session's Airflow home and DB, with the plugin folder and
    the purge's environment (config, connections) this test points Airflow at. The one place that starts
    the server: point it elsewhere (a deployment) here."""
    port = _free_port()
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps(USERS), encoding="utf-8")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO_ROOT / "include"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,auditor:viewer,analyst:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = (tmp_path / "api-server.log").open("wb")
    command = [str(Path(sys.executable).parent / "airflow"), "api-server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # readiness: a real poll of a real server, no fixed sleep
            if process.poll() is not None:
                raise RuntimeError(f"api-server exited early; see {tmp_path / 'api-server.log'}")
            try:
                if requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"api-server not healthy after 120 s; see {tmp_path / 'api-server.log'}")
            time.sleep(0.5)
        yield EvidenceServer(base_url, USERS)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def token(server: EvidenceServer, user: str) -> str:
    """A JWT for `user` from the server's own `/auth/token`."""
    answer = requests.post(
        f"{server.base_url}/auth/token",
        json={"username": user, "password": server.users[user]},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def sync_dags_to_db() -> None:
    """What the DAG processor does (and `dag.test()` does before a run): the DAG folder's DAGs, serialized
    in the metadata DB, so the REST endpoint can create a run of the ad-hoc DAG."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)
