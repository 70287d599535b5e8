"""Fixtures: a fresh Genesys Cloud sandbox per test (real HTTP on 127.0.0.1) and the Airflow connection
`genesys_cloud_default` pointing at it, defined the env-var way (no metadata DB)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from genesys_cloud.retry_policy import reset_shared_pacers
from genesys_cloud.token_cache import SHARED_TOKENS
from genesys_sandbox import SandboxServer, SandboxSettings

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"
SMALL = SandboxSettings(
    seed=7,
    customers=20,
    conversations=40,
    rate_limit_per_window=10_000,
    rate_limit_window_seconds=60,
    gdpr_step_seconds=0.2,
    job_fulfil_seconds=0,
)
# Fast retries: tests wait for Retry-After (1 s) at most, never for long back-offs.
FAST_RETRIES = {"max_attempts": 5, "base_backoff_seconds": 0.05, "max_wait_seconds": 5}


def connection_json(sb: SandboxServer, **extra: Any) -> str:
    return json.dumps(
        {
            "conn_type": "genesys_cloud",
            "host": sb.base_url,
            "login": sb.client_id,
            "password": sb.client_secret,
            "extra": {**FAST_RETRIES, **extra},
        }
    )


@pytest.fixture(autouse=True)
def _fresh_client_state() -> Iterator[None]:
    """Every test logs in and paces from scratch (the caches are process-wide by design)."""
    SHARED_TOKENS.clear()
    reset_shared_pacers()
    yield
    SHARED_TOKENS.clear()
    reset_shared_pacers()


@pytest.fixture
def start_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SandboxServer]]:
    """Start a sandbox with overrides of SMALL and point `genesys_cloud_default` at it."""
    started: list[SandboxServer] = []

    def start(extra: dict[str, Any] | None = None, **overrides: Any) -> SandboxServer:
        sb = SandboxServer(replace(SMALL, **overrides)).start()
        started.append(sb)
        monkeypatch.setenv(CONN_ENV, connection_json(sb, **(extra or {})))
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return start_sandbox()


def statuses_served(sb: SandboxServer) -> dict[str, int]:
    return sb.control.request_counts()["by_status"]


def calls_to(sb: SandboxServer, endpoint: str) -> int:
    return sb.control.request_counts()["by_endpoint"].get(endpoint, 0)


def an_email_subject(sb: SandboxServer) -> dict[str, list[str]]:
    """The GDPR subject of a seeded customer (by e-mail), for requests that must succeed."""
    customer = next(c for c in sb.org.customers.values() if c.emails)
    return {"emailAddresses": [customer.emails[0]]}
