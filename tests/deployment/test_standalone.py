"""`make airflow`: airflow standalone with the project's DAGs comes up, names its URL and logins, and
goes away with everything it started when told to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from genesys_devtools.local_engines import free_port
from tests.conftest import REPO_ROOT
from tests.support.deployment import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.deployment, pytest.mark.timeout(600)]


def test_make_airflow_serves_the_dags_with_the_printed_login_and_stops_on_sigterm(tmp_path):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    output = tmp_path / "standalone.out"
    argv = [sys.executable, "-m", "genesys_devtools.standalone", "--home", str(tmp_path / "home"),
            "--port", str(port), "--customers", "60", "--conversations", "120"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "include")}
    with output.open("wb") as sink:
        script = subprocess.Popen(
            argv, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        banner = wait_for(
            "the ready banner", lambda: "Logins:" in output.read_text() and output.read_text(), 300
        )
        assert f"Airflow is ready at {base_url}" in banner
        assert "admin / admin (admin)" in banner

        login = requests.post(
            f"{base_url}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        def listed() -> bool:
            dags = requests.get(f"{base_url}/api/v2/dags", headers=headers, timeout=30).json()["dags"]
            return {d["dag_id"] for d in dags} >= {"genesys_retention_purge", "genesys_subject_erasure"}

        wait_for("the project's DAGs in the API", listed, 120)
    finally:
        script.send_signal(signal.SIGTERM)  # the script stops standalone's process group and its engines
        code = script.wait(timeout=90)
    assert code == 0, output.read_text()[-3000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/api/v2/monitor/health", timeout=5)
