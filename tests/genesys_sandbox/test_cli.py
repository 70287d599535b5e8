"""`python -m genesys_sandbox` serves a sandbox and prints how to reach it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a process-level test: the sandbox CLI in a subprocess
def test_cli_prints_base_url_and_credentials_and_serves():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO)])}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "genesys_sandbox",
            "--port",
            "0",
            "--customers",
            "20",
            "--conversations",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        base_url = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)
        assert "client_id=sandbox-client" in second and "client_secret=sandbox-secret" in second
        summary = requests.get(f"{base_url}/sandbox/org/summary", timeout=10).json()
        assert summary["counts"]["customers"] == 20
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0


def test_every_setting_has_a_flag_and_optional_ones_accept_none():
    from dataclasses import fields

    from genesys_sandbox.__main__ import build_parser
    from genesys_sandbox.settings import SandboxSettings

    parser = build_parser()
    flags = {action.dest for action in parser._actions}
    assert {item.name for item in fields(SandboxSettings)} <= flags
    args = parser.parse_args(
        ["--gdpr-contact-delete-lag-hours", "none", "--gdpr-recording-delete-lag-hours", "2"]
    )
    assert args.gdpr_contact_delete_lag_hours is None
    assert args.gdpr_recording_delete_lag_hours == 2.0
