"""Smoke test of `bench/bench_backfill.py` at a tiny size: the script runs end to end against sandbox
processes and its figures say what a real run's would (every subject completed once, no 429, the K
clients sharing the POSTs). Nothing is timed: benchmarks are measured, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

SUBJECTS = 40
NAIVE = 3


@pytest.mark.slow  # four sandbox processes and a naive loop that sleeps: about 20 s
def test_the_backfill_benchmark_completes_every_subject_once_per_client_count_without_a_429(tmp_path):
    raw = tmp_path / "raw.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "include")}
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "bench_backfill.py"),
            f"--subjects={SUBJECTS}",
            "--clients=1,2",
            f"--naive-subjects={NAIVE}",
            "--capacity-subjects=0",
            f"--json={raw}",
            f"--output={tmp_path / 'report.md'}",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads(raw.read_text())

    runs = {run["clients"]: run for run in results["pipeline"]}
    assert sorted(runs) == [1, 2]
    for clients, run in runs.items():
        assert run["completed"] == SUBJECTS
        assert run["counts"]["by_endpoint"]["POST /api/v2/gdpr/requests"] == SUBJECTS
        assert "429" not in run["counts"]["by_status"]
        # the submit step round-robins: each OAuth client posts its share
        assert run["posts_per_token"] == [SUBJECTS // clients] * clients
    naive = results["naive"]
    assert naive["completed"] == NAIVE
    assert naive["counts"]["by_endpoint"]["POST /api/v2/gdpr/requests"] == NAIVE
    assert naive["counts"]["by_endpoint"]["GET /api/v2/gdpr/requests/{requestId}"] >= NAIVE
    assert results["pipeline_same"]["completed"] == NAIVE
    assert "pipeline / naive" in (tmp_path / "report.md").read_text()
