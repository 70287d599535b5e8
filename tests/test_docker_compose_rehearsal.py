"""docker-compose's `sandbox` service, run here as a process: it serves the sandbox and seeds both warehouse
services with its conversations, keyed with the HMAC key it is given, then stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from genesys_devtools import demo_warehouses as wh
from genesys_devtools.local_engines import LocalBigQueryEmulator, LocalFakesnow, free_port
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
HMAC_KEY = "compose-rehearsal-test-hmac-key-0123456789"


def test_the_sandbox_service_seeds_both_warehouses_with_its_conversations_and_stops_on_sigterm():
    port = free_port()
    env = {**os.environ, "GENESYS_ERASURE_HMAC_KEY": HMAC_KEY, "PYTHONPATH": str(REPO_ROOT / "include")}
    with LocalFakesnow() as fakesnow, LocalBigQueryEmulator() as bigquery:
        argv = [sys.executable, "-m", "genesys_devtools.compose_rehearsal", "--host", "127.0.0.1",
                "--port", str(port), "--snowflake", f"127.0.0.1:{fakesnow.port}",
                "--bigquery", bigquery.endpoint]  # fmt: skip
        service = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
        try:
            lines = [service.stdout.readline() for _ in range(3)]
            assert "Seeded" in lines[2], lines
            snowflake, bq = wh.snowflake_rows(fakesnow), wh.bigquery_rows(bigquery)
            assert len(snowflake) == len(bq) > 10_000, "one event per conversation of the seeded org"
            assert all(row["CUSTOMER_EMAIL"] is None for row in bq), "the BigQuery copy holds hashes only"
            assert (
                requests.get(f"http://127.0.0.1:{port}/api/v2/gdpr/requests", timeout=10).status_code == 401
            )
        finally:
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=30) == 0
