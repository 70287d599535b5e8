"""The nightly purge against the limits a busy real org puts in its way, all at once: analytics jobs that
sit PENDING and one that FAILS, result pages too large for the lake to serve, the GDPR request list read
oldest first 25 at a time, an org-wide GDPR quota that answers 429 with a long Retry-After, and two OAuth
clients sharing the submissions. Whatever the limits do, every subject ends in exactly one state and none
is posted twice."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from genesys_cloud.retry_policy import reset_shared_pacers
from genesys_erasure.ledger import Ledger
from genesys_erasure.ledger.states import SubjectState
from genesys_erasure.steps.submit import QUOTA_REASON
from genesys_erasure.tasks.runtime import load_runtime

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

GDPR_POST = "POST /api/v2/gdpr/requests"
JOB_RESULTS = "GET /api/v2/analytics/conversations/details/jobs/{jobId}/results"
QUOTA = 30  # GDPR requests per sandbox hour across both clients: under half of what the first night plans


@pytest.fixture
def busy_stack(purge_stack, monkeypatch):
    stack = purge_stack(
        # jobs stay PENDING a second of sandbox time per UTC day of history (six years: ~36 minutes),
        # besides the profile's first FAILED job and one job at a time
        job_seconds_per_day=1.0,
        # a results page of ~60 conversations is already too large: the client must halve its page size
        job_results_max_page_bytes=60_000,
        gdpr_quota_per_window=QUOTA,
        oauth_clients=2,
    )
    # a long Retry-After defers the rest of the batch to the next night instead of waiting in the task
    stack.configure(quota_wait_max_seconds=0)
    sb = stack.sandbox
    connection = json.loads(os.environ["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"])
    connection["extra"] = {
        "extra_clients": [{"client_id": f"{sb.client_id}-2", "client_secret": f"{sb.client_secret}-2"}]
    }
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT", json.dumps(connection))
    assert sb.settings.gdpr_list_order == "oldest_first" and sb.settings.gdpr_list_page_size_cap == 25
    return stack


def _deferred_for_quota(report) -> int:
    return sum(1 for s in report["subjects"] if s["state"] == "deferred" and s.get("reason") == QUOTA_REASON)


def test_busy_org_limits_defer_work_to_later_nights_without_losing_or_reposting_a_subject(busy_stack):
    stack = busy_stack
    control = stack.sandbox.control

    first_run = stack.run(backfill=True)
    first = stack.report(first_run)
    assert first_run.state == "success"
    # the quota let its requests through (QUOTA, or twice that when the night's posting straddled the
    # quota's hour on the sandbox clock) and the rest of the batch waits for a later night, not failed
    posts = control.request_counts()["by_endpoint_status"][GDPR_POST]
    assert posts.get("202") in (QUOTA, 2 * QUOTA) and posts.get("429", 0) >= 1
    assert _deferred_for_quota(first) > 0
    assert first["counts"].get("failed", 0) == 0
    # the history scan met a FAILED job, PENDING jobs and pages too large, and still read everything
    states = control.analytics_job_states_served()
    assert states.get("FAILED", 0) >= 1 and states.get("PENDING", 0) >= 1
    assert control.request_counts()["by_endpoint_status"][JOB_RESULTS].get("400", 0) >= 1
    # both OAuth clients posted
    per_token = control.request_counts()["by_token_endpoint"]
    assert sum(1 for endpoints in per_token.values() if endpoints.get(GDPR_POST)) == 2

    nights = [first]
    while _deferred_for_quota(nights[-1]) and len(nights) < 8:
        stack.advance_clock(1.5)  # the quota's hour passes (and the GDPR deletes move on)
        # a later night's tasks run in new worker processes, which hold no memory of tonight's quota
        # wait (this test's nights share one process, whose wall clock did not move)
        reset_shared_pacers()
        nights.append(stack.report(stack.run()))
    assert _deferred_for_quota(nights[-1]) == 0, "the quota's backlog drains night after night"
    assert len(nights) >= 2

    # nothing posted twice: one request per subject body at Genesys, one request id per subject in the ledger
    bodies = Counter(json.dumps(r["subject"], sort_keys=True) for r in stack.hook().iter_gdpr_requests())
    assert bodies and max(bodies.values()) == 1
    with Ledger.open(load_runtime({}).ledger_url) as ledger:
        rows = ledger.rows_in_states(SubjectState)
    posted = [row for row in rows if row.request_ids]
    assert len(posted) == sum(bodies.values())
    assert all(len(row.request_ids) == 1 for row in posted)
    # every subject is in exactly one state, none lost to the quota and none failed
    planned = {s["subject_hash"] for s in first["subjects"]}
    states = {row.subject_hash: row.state for row in rows}
    assert planned <= set(states)
    assert SubjectState.FAILED not in states.values()
    assert not {h for h, state in states.items() if state in (SubjectState.PLANNED, SubjectState.SUBMITTING)}
