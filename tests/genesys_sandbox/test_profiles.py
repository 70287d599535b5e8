"""Named sandbox profiles: "faithful" is the defaults, "pessimistic" sets exactly the hard readings of the
UNCONFIRMED behaviours, overrides win over a profile, and the CLI starts from one with `--profile`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import requests

from genesys_sandbox.__main__ import build_parser
from genesys_sandbox.settings import SandboxSettings

REPO = Path(__file__).resolve().parents[2]
PESSIMISTIC = {
    "contact_search": "tokenised",
    "contact_search_partial_above": 25,
    "contact_index_lag_hours": 24,
    "gdpr_delete_placeholder": "[redacted]",
    "gdpr_delete_keeps_participant_contact_id": True,
    "gdpr_contact_delete_lag_hours": 48,
    "gdpr_recording_delete_lag_hours": 48,
    "gdpr_delete_keeps_attributes": True,
    "divisions": "Home,Sales EU,Support EU",
    "data_shapes": "real",
    "job_fulfil_seconds": 5.0,
    "job_seconds_per_day": 0.02,
    "fail_first_analytics_jobs": 1,
    "job_concurrency_limit": 1,
    "job_results_ttl_hours": 1.0,
    "job_results_max_page_bytes": 1_000_000,
    "details_query_counts_touched_days": True,
    "details_query_max_results": 10_000,
    "gdpr_list_order": "oldest_first",
    "gdpr_list_page_size_cap": 25,
    "gdpr_quota_per_window": 1500,
}


def _changed_from_defaults(settings: SandboxSettings) -> dict[str, object]:
    defaults = asdict(SandboxSettings())
    return {name: value for name, value in asdict(settings).items() if defaults[name] != value}


def test_faithful_profile_is_the_defaults():
    assert SandboxSettings.for_profile("faithful") == SandboxSettings()


def test_pessimistic_profile_sets_exactly_its_knobs():
    assert _changed_from_defaults(SandboxSettings.for_profile("pessimistic")) == PESSIMISTIC


def test_overrides_win_over_the_profile():
    settings = SandboxSettings.for_profile("pessimistic", data_shapes="clean", customers=30, conversations=90)
    assert (settings.data_shapes, settings.customers, settings.conversations) == ("clean", 30, 90)
    assert settings.gdpr_contact_delete_lag_hours == 48


def test_unknown_profile_or_setting_is_an_error():
    with pytest.raises(ValueError, match="unknown sandbox profile"):
        SandboxSettings.for_profile("optimistic")
    with pytest.raises(ValueError, match="unknown sandbox setting"):
        SandboxSettings.for_profile("pessimistic", no_such_knob=1)


def test_cli_profile_sets_the_defaults_and_explicit_flags_win():
    args = build_parser("pessimistic").parse_args(["--profile", "pessimistic", "--data-shapes", "clean"])
    assert args.profile == "pessimistic"
    assert (args.contact_search, args.gdpr_recording_delete_lag_hours) == ("tokenised", 48)
    assert args.data_shapes == "clean"


@pytest.mark.slow  # a process-level test: the sandbox CLI in a subprocess
def test_cli_serves_the_pessimistic_profile():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO)])}
    command = [sys.executable, "-m", "genesys_sandbox", "--profile", "pessimistic", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--customers", "20", "--conversations", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first, _credentials, summary_line = (process.stdout.readline() for _ in range(3))
        base_url = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)
        assert '"profile": "pessimistic"' in summary_line
        token = requests.post(
            f"{base_url}/oauth/token",
            auth=("sandbox-client", "sandbox-secret"),
            data={"grant_type": "client_credentials"},
            timeout=10,
        ).json()["access_token"]
        divisions = requests.get(
            f"{base_url}/api/v2/authorization/divisions",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        assert sorted(d["name"] for d in divisions["entities"]) == ["Home", "Sales EU", "Support EU"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0
