"""Submission spread across several OAuth clients: each has its own token and rate limit, so a batch
posts about K times as fast as on one client, without a single 429."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace

import pytest

from genesys_devtools.demo import DEMO_HMAC_KEY, DEMO_SEALING_KEY
from genesys_erasure.evidence import key_from_text
from genesys_erasure.steps.plan import plan_erasure
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.submit import submit_batch
from genesys_erasure.tasks.runtime import extra_genesys_hooks, genesys_hook
from tests.genesys_erasure.steps.conftest import CONN_ENV, TINY_ORG, plan_request

PER_TOKEN = 4  # requests per 1 s window and token
SUBJECTS = 24  # one client needs 6 windows for them (> 4 s), two need 3 each


@pytest.fixture
def sandbox_settings():
    return replace(TINY_ORG, rate_limit_per_window=PER_TOKEN, rate_limit_window_seconds=1, oauth_clients=2)


def _runtime_on_two_clients(world, monkeypatch) -> ErasureRuntime:
    """The deployment's own wiring (tasks.runtime) on a connection that names a second client."""
    sb = world.sandbox
    connection = json.loads(os.environ[CONN_ENV])
    connection["extra"]["extra_clients"] = [
        {"client_id": f"{sb.client_id}-2", "client_secret": f"{sb.client_secret}-2"}
    ]
    monkeypatch.setenv(CONN_ENV, json.dumps(connection))
    return ErasureRuntime(
        config=world.runtime.config,
        hmac_key=key_from_text(DEMO_HMAC_KEY),
        sealing_key=key_from_text(DEMO_SEALING_KEY),
        ledger_url=world.runtime.ledger_url,
        client_factory=genesys_hook,
        extra_clients_factory=extra_genesys_hooks,
        home=world.home,
    )


@pytest.mark.slow  # paced on the real clock for about three seconds
def test_a_batch_on_two_oauth_clients_posts_about_twice_as_fast_without_a_429(world, monkeypatch):
    seeds = [world.expired_seed(f"person{n}@example.org") for n in range(SUBJECTS)]
    summary = plan_erasure(world.runtime, "two-clients", plan_request(*seeds), world.now)
    batch = [h for b in summary["batches"] for h in b]
    assert len(batch) == SUBJECTS
    # planning spent the first client's window (in production it runs in another task and process)
    world.sandbox.control.advance_clock(seconds=1)
    world.sandbox.control.reset_request_counts()

    with _runtime_on_two_clients(world, monkeypatch) as runtime:
        started = time.monotonic()
        result = submit_batch(runtime, "two-clients", batch)
        elapsed = time.monotonic() - started

    assert result["submitted"] == SUBJECTS
    counts = world.sandbox.control.request_counts()
    assert "429" not in counts["by_status"]
    posts = [
        per_endpoint.get("POST /api/v2/gdpr/requests", 0)
        for per_endpoint in counts["by_token_endpoint"].values()
    ]
    assert sorted(p for p in posts if p) == [SUBJECTS // 2, SUBJECTS // 2]
    # one client could not post 24 at 4 per window in under 5 windows; two need about 3
    assert elapsed < 4.0, elapsed
