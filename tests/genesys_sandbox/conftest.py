"""Fixtures for the sandbox tests: small seeded orgs served over real HTTP, and a tiny API client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from genesys_sandbox import SandboxServer, SandboxSettings

FIXED_NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
SMALL = SandboxSettings(
    seed=7,
    customers=40,
    conversations=300,
    now=FIXED_NOW,
    gdpr_step_seconds=0,
    job_fulfil_seconds=0,
    rate_limit_per_window=10_000,
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


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SandboxServer]:
    """One sandbox per test module, for tests that only read."""
    with SandboxServer(SMALL) as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[Any]:
    """Start a fresh sandbox with overrides of SMALL; every one is stopped after the test."""
    started: list[SandboxServer] = []

    def start(**overrides: Any) -> SandboxServer:
        sb = SandboxServer(replace(SMALL, **overrides)).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def fresh_sandbox(sandbox_factory: Any) -> SandboxServer:
    return sandbox_factory()


@pytest.fixture
def api(fresh_sandbox: SandboxServer) -> ApiClient:
    return ApiClient(fresh_sandbox)


@pytest.fixture(scope="module")
def shared_api(shared_sandbox: SandboxServer) -> ApiClient:
    return ApiClient(shared_sandbox)
