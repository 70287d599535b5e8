"""Separate worker processes posting GDPR requests on one OAuth client share its token and its rate
window through the ledger database (SQLite file, PostgreSQL): together they stay within the window's
budget (no 429), and still fill it. Real OS processes, the project's hook, a real sandbox over HTTP with a
small limit (30 requests per 3-second window); the sandbox's own counters are the evidence.

Without the shared pacing (each process pacing the shared token on its own) the same run meets 429s;
without the shared token each process would use a token of its own."""

from __future__ import annotations

import math
import multiprocessing
from collections import Counter

import pytest
from sqlalchemy import text

from tests.support.erasure import BACKENDS, ledger_target_for
from tests.support.pacing_worker import post_requests
from tests.support.sandbox import CLIENT_ORG, connection_json, fresh_client_state, sandbox_starter

# seconds each: three processes and two real rate windows
pytestmark = pytest.mark.slow

WORKERS = 3
POSTS_EACH = 20  # 60 in all: two windows' budget, so one window is entirely taken at the shared pace
ALLOWED, WINDOW_SECONDS = 30, 3
CREATE = "POST /api/v2/gdpr/requests"


def _worker_processes():
    """Fresh OS processes (not forks of this one, which runs the sandbox's threads) that start fast: a
    fork server imports the hook (Airflow, seconds) once, and each worker is forked from it."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["tests.support.pacing_worker", "genesys_cloud.hook", "genesys_erasure.ledger.client_state"]
    )
    return context


@pytest.fixture(params=BACKENDS)
def ledger_url(request, tmp_path):
    """The ledger's URL as the workers open it: a SQLite file, or PostgreSQL on a throw-away schema."""
    for target in ledger_target_for(request.param, tmp_path):
        if isinstance(target, str):
            yield target
            continue
        with target.connect() as conn:  # the engine's search path names the schema; the URL must too
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url = target.url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)


def test_worker_processes_on_one_client_share_its_window_without_a_429(ledger_url):
    with fresh_client_state(), sandbox_starter(CLIENT_ORG) as start:
        sb = start(rate_limit_per_window=ALLOWED, rate_limit_window_seconds=WINDOW_SECONDS)
        processes = _worker_processes()
        ready, go, results = processes.Semaphore(0), processes.Event(), processes.Queue()
        workers = [
            processes.Process(
                target=post_requests,
                args=(connection_json(sb), ledger_url, range(n * POSTS_EACH, (n + 1) * POSTS_EACH)),
                kwargs={"ready": ready, "go": go, "results": results},
            )
            for n in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        try:
            for _ in workers:  # every worker has imported and opened its hook: they post at once
                assert ready.acquire(timeout=60), "a worker process did not start"
            go.set()
            ids = [request_id for _ in workers for request_id in results.get(timeout=60)]
        finally:
            for worker in workers:
                worker.join(timeout=30)
        counts = sb.control.request_counts()

    assert "429" not in counts["by_status"], counts["by_status"]
    assert counts["by_endpoint"][CREATE] == WORKERS * POSTS_EACH  # a 429 would have been posted again
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert len(set(ids)) == WORKERS * POSTS_EACH
    # one token for the deployment: the workers adopted the first one stored, so one bucket was paced
    assert [endpoints.get(CREATE, 0) for endpoints in counts["by_token_endpoint"].values()] == [
        WORKERS * POSTS_EACH
    ]
    # and the budget was used, not just respected: some window of the sandbox took at least 80% of it
    windows = Counter(math.floor(sb.state.gdpr.get(i).created_mono / WINDOW_SECONDS) for i in ids)
    assert max(windows.values()) >= 0.8 * ALLOWED, sorted(windows.items())
