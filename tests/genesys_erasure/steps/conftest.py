"""Fixtures for the step tests: a small Genesys Cloud sandbox over real HTTP, a runtime on a fresh SQLite
ledger whose client is a `GenesysCloudHook` pointed at the sandbox (the connection defined the env-var
way), and helpers that plant customers and wait for Genesys. No Airflow database is involved."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from genesys_cloud.hook import GenesysCloudHook
from genesys_devtools.demo import DEMO_HMAC_KEY, DEMO_SEALING_KEY, demo_config
from genesys_erasure.config import PurgeConfig
from genesys_erasure.evidence import key_from_text
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.steps.plan import PlanRequest, Seed
from genesys_erasure.steps.runtime import ErasureRuntime, sqlite_ledger_url
from genesys_erasure.tasks.runtime import genesys_hook
from genesys_sandbox import SandboxServer, SandboxSettings
from tests.support.sandbox import fresh_client_state

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"
# One seeded customer: the tests plant the customers they talk about.
TINY_ORG = SandboxSettings(
    seed=5,
    customers=1,
    conversations=1,
    rate_limit_per_window=100_000,
    gdpr_step_seconds=0.05,
    job_fulfil_seconds=0,
)
RETENTION_DAYS = 1826


@dataclass
class StepWorld:
    """A sandbox org and a runtime on an empty ledger, with a few shortcuts for planting test data."""

    sandbox: SandboxServer
    home: Path
    runtime: ErasureRuntime
    clients_made: list[Any] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return self.sandbox.org.clock.now()

    def customer(self, email: str, *, days_ago: float, active: bool = False) -> tuple[Identifier, str]:
        """A customer whose one e-mail conversation started `days_ago` (still going if `active`); returns
        the e-mail as an identifier and the conversation id."""
        org = self.sandbox.org
        person = org.add_customer(emails=[email], phones=[], external_contact=False)
        start = self.now - timedelta(days=days_ago)
        extra = {"end": None} if active else {}
        conversation_id = org.add_conversation(
            person, media="email", direction="inbound", start=start, **extra
        )
        return Identifier(IdentifierKind.EMAIL, email), conversation_id

    def expired_seed(self, email: str, *, active: bool = False) -> Seed:
        identifier, conversation_id = self.customer(email, days_ago=RETENTION_DAYS + 100, active=active)
        return Seed(identifier, conversation_ids=(conversation_id,), conversation_count=1, stalled=active)

    def hook(self) -> GenesysCloudHook:
        """A client of the test's own (not the runtime's), to look at the org the way Genesys shows it."""
        return GenesysCloudHook()

    def gdpr_requests(self) -> list[dict[str, Any]]:
        with self.hook() as hook:
            return list(hook.iter_gdpr_requests())

    def wait_until_done(self, request_ids: Iterable[str], timeout: float = 20.0) -> dict[str, str]:
        """Poll Genesys until every request has an outcome (the sandbox works through them in steps)."""
        wanted = sorted(request_ids)
        deadline = time.monotonic() + timeout
        with self.hook() as hook:
            while True:
                statuses = hook.get_gdpr_request_statuses(wanted)
                if all(statuses.get(i) in ("COMPLETED", "ERROR") for i in wanted):
                    return statuses
                if time.monotonic() > deadline:
                    raise AssertionError(f"GDPR requests not done after {timeout} s: {statuses}")
                time.sleep(0.05)


def plan_request(*seeds: Seed) -> PlanRequest:
    from genesys_erasure.ledger import SubjectSource

    return PlanRequest(seeds=seeds, source=SubjectSource.RETENTION)


@pytest.fixture(autouse=True)
def _fresh_client_state() -> Iterator[None]:
    """Every test logs in and paces from scratch."""
    with fresh_client_state():
        yield


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    """The org the `world` starts; a test module overrides this fixture to turn sandbox knobs."""
    return TINY_ORG


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_settings: SandboxSettings
) -> Iterator[StepWorld]:
    sandbox = SandboxServer(sandbox_settings).start()
    connection = {
        "conn_type": "genesys_cloud",
        "host": sandbox.base_url,
        "login": sandbox.client_id,
        "password": sandbox.client_secret,
        "extra": {"max_attempts": 5, "base_backoff_seconds": 0.05, "max_wait_seconds": 5},
    }
    monkeypatch.setenv(CONN_ENV, json.dumps(connection))
    config = PurgeConfig.from_dict(
        demo_config(sandbox.org.summary(), tmp_path, retention_days=RETENTION_DAYS)
    )
    clients_made: list[Any] = []

    def counting_factory(cfg: PurgeConfig) -> GenesysCloudHook:
        client = genesys_hook(cfg)
        clients_made.append(client)
        return client

    runtime = ErasureRuntime(
        config=config,
        hmac_key=key_from_text(DEMO_HMAC_KEY),
        sealing_key=key_from_text(DEMO_SEALING_KEY),
        ledger_url=sqlite_ledger_url(config, tmp_path),
        client_factory=counting_factory,
        home=tmp_path,
    )
    try:
        with runtime:
            yield StepWorld(sandbox, tmp_path, runtime, clients_made)
    finally:
        sandbox.stop()
