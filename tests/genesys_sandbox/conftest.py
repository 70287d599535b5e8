"""Fixtures for the sandbox tests: small seeded orgs served over real HTTP, and a tiny API client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from genesys_sandbox import SandboxServer
from tests.support.sandbox import SANDBOX_ORG, ApiClient, sandbox_starter


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SandboxServer]:
    """One sandbox per test module, for tests that only read."""
    with sandbox_starter(SANDBOX_ORG) as start:
        yield start()


@pytest.fixture
def sandbox_factory() -> Iterator[Any]:
    """Start a fresh sandbox with overrides of SANDBOX_ORG; every one is stopped after the test."""
    with sandbox_starter(SANDBOX_ORG) as start:
        yield start


@pytest.fixture
def fresh_sandbox(sandbox_factory: Any) -> SandboxServer:
    return sandbox_factory()


@pytest.fixture
def api(fresh_sandbox: SandboxServer) -> ApiClient:
    return ApiClient(fresh_sandbox)


@pytest.fixture(scope="module")
def shared_api(shared_sandbox: SandboxServer) -> ApiClient:
    return ApiClient(shared_sandbox)
