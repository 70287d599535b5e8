"""Sandbox helpers shared by every test tier: seeded orgs served over real HTTP on 127.0.0.1, one way to
start and stop them, the Airflow connection that points at one, a tiny API client, and request counters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import requests

from genesys_sandbox import SandboxServer, SandboxSettings

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"
FIXED_NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
# The sandbox's own tests: a fixed clock, instant jobs, and GDPR requests that move only when a test moves
# the clock (`finish_gdpr_requests`).
GDPR_STEP_SECONDS = 60
SANDBOX_ORG = SandboxSettings(
    seed=7,
    customers=40,
    conversations=300,
    now=FIXED_NOW,
    gdpr_step_seconds=GDPR_STEP_SECONDS,
    job_fulfil_seconds=0,
    rate_limit_per_window=10_000,
)
# The client's tests: a tiny org whose GDPR requests take a moment, so waiting is exercised.
CLIENT_ORG = SandboxSettings(
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


@contextmanager
def fresh_client_state() -> Iterator[None]:
    """Log in and pace from scratch (the token cache and the pacers are process-wide by design)."""
    from genesys_cloud.retry_policy import reset_shared_pacers
    from genesys_cloud.token_cache import SHARED_TOKENS

    SHARED_TOKENS.clear()
    reset_shared_pacers()
    try:
        yield
    finally:
        SHARED_TOKENS.clear()
        reset_shared_pacers()


@contextmanager
def sandbox_starter(base: SandboxSettings) -> Iterator[Any]:
    """`start(**overrides)` starts a sandbox with `base` changed by `overrides`; all are stopped on exit."""
    started: list[SandboxServer] = []

    def start(**overrides: Any) -> SandboxServer:
        sb = SandboxServer(replace(base, **overrides)).start()
        started.append(sb)
        return sb

    try:
        yield start
    finally:
        for sb in started:
            sb.stop()


def connection_json(sb: SandboxServer, **extra: Any) -> str:
    """`genesys_cloud_default` as an Airflow connection in JSON (the env-var way: no metadata DB)."""
    return json.dumps(
        {
            "conn_type": "genesys_cloud",
            "host": sb.base_url,
            "login": sb.client_id,
            "password": sb.client_secret,
            "extra": {**FAST_RETRIES, **extra},
        }
    )


class ApiClient:
    """Just enough of a Genesys client for the tests: token handling and JSON calls, no retries."""

    def __init__(self, sb: SandboxServer) -> None:
        self.sb = sb
        self.http = requests.Session()
        self.token: str | None = None

    def login(self) -> str:
        response = self.http.post(
            f"{self.sb.base_url}/oauth/token",
            auth=(self.sb.client_id, self.sb.client_secret),
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        return self.token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self.token is None:
            self.login()
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.sb.base_url}{path}", headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


def finish_gdpr_requests(sb: SandboxServer) -> None:
    """Move sandbox time past the end of every GDPR request made so far (the longest walk has 4 steps),
    over the admin API, the way a sandbox in another process is driven."""
    seconds = 5 * sb.settings.gdpr_step_seconds
    response = requests.post(
        f"{sb.base_url}/sandbox/faults", json={"advance_clock_seconds": seconds}, timeout=10
    )
    response.raise_for_status()


def statuses_served(sb: SandboxServer) -> dict[str, int]:
    return sb.control.request_counts()["by_status"]


def calls_to(sb: SandboxServer, endpoint: str) -> int:
    return sb.control.request_counts()["by_endpoint"].get(endpoint, 0)


def an_email_subject(sb: SandboxServer) -> dict[str, list[str]]:
    """The GDPR subject of a seeded customer (by e-mail), for requests that must succeed."""
    customer = next(c for c in sb.org.customers.values() if c.emails)
    return {"emailAddresses": [customer.emails[0]]}


class SandboxJobClock:
    """The sandbox's clock as the client's job-polling clock: a wait advances the sandbox instead of
    sleeping (analytics jobs progress on that clock), and every wait is recorded."""

    def __init__(self, sb: SandboxServer) -> None:
        self.sb = sb
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sb.control.advance_clock(seconds)

    def monotonic(self) -> float:
        return self.sb.state.clock.monotonic()

    def polling(self, **overrides: Any) -> Any:
        """A `JobPolling` (defaults unless overridden) on this clock."""
        from genesys_cloud.analytics_jobs import JobPolling

        return JobPolling(sleep=self.sleep, monotonic=self.monotonic, **overrides)
