"""Fixtures: a fresh Genesys Cloud sandbox per test (real HTTP on 127.0.0.1) and the Airflow connection
`genesys_cloud_default` pointing at it, defined the env-var way (no metadata DB)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from genesys_sandbox import SandboxServer
from tests.support.sandbox import CLIENT_ORG, CONN_ENV, connection_json, fresh_client_state, sandbox_starter


@pytest.fixture(autouse=True)
def _fresh_client_state() -> Iterator[None]:
    """Every test logs in and paces from scratch."""
    with fresh_client_state():
        yield


@pytest.fixture
def start_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SandboxServer]]:
    """Start a sandbox with overrides of CLIENT_ORG and point `genesys_cloud_default` at it."""
    with sandbox_starter(CLIENT_ORG) as start_server:

        def start(extra: dict[str, Any] | None = None, **overrides: Any) -> SandboxServer:
            sb = start_server(**overrides)
            monkeypatch.setenv(CONN_ENV, connection_json(sb, **(extra or {})))
            return sb

        yield start


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return start_sandbox()
