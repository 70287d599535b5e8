"""End-to-end fixtures: a real Genesys Cloud sandbox over loopback, an Airflow metadata DB in the
test session's AIRFLOW_HOME, and `dag.test()` runs of the project's DAGs against them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from genesys_cloud.hook import GenesysCloudHook
from genesys_devtools import demo_warehouses as wh
from genesys_devtools.demo import DEMO_HMAC_KEY, airflow_environment, demo_config, load_dag
from genesys_devtools.local_engines import LocalBigQueryEmulator, LocalFakesnow
from genesys_erasure.evidence import key_from_text
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.ledger import Ledger, SubjectState
from genesys_erasure.tasks.runtime import load_runtime
from genesys_sandbox import SandboxServer, SandboxSettings
from tests.conftest import REPO_ROOT
from tests.support.engines import require_bqemulator
from tests.support.sandbox import sandbox_starter

# The end-to-end runs face the pessimistic reading of every UNCONFIRMED behaviour (ASSUMPTIONS.md,
# "Profiles"): lagging deletes, placeholders, tokenised and partial contact search, several divisions,
# real data shapes (tel:/sip:/national numbers, withheld callers, display-name and shared headers).
TEST_ORG = SandboxSettings.for_profile(
    "pessimistic",
    seed=11,
    customers=120,
    conversations=1200,
    # Real limits in simulated time (ASSUMPTIONS.md, "Simulated time"): the real 300 requests per 60-second
    # window, on a sandbox clock running 12 times faster than the wall's, so the client's pacing fills and
    # rolls over windows without a real minute's wait; GDPR deletes take four sandbox hours and analytics
    # jobs queue ten minutes, and each poll of unfinished work stands for the poller's wait, so the
    # sensor's few polls see them through without a real sleep. The profile's GDPR quota (1,500 an hour)
    # is on the sandbox clock too, far above what a run here posts.
    rate_limit_per_window=300,
    rate_limit_window_seconds=60,
    clock_rate=12,
    gdpr_step_seconds=3600,
    gdpr_poll_advance_seconds=7200,
    job_fulfil_seconds=600,
    job_poll_advance_seconds=600,
    # jobs here go QUEUED -> FULFILLED (no PENDING time per UTC day of history): PENDING jobs are the step
    # and client tests' business; a failed first job, the job cap, page and query limits stay on
    job_seconds_per_day=0,
)
# The org's contact and recording deletes land this long after COMPLETED, and the contact search index
# (search and scan) lists a deleted contact a while longer (the pessimistic profile); a later night past
# all of it sees them gone.
PAST_DELETE_LAG_HOURS = (
    max(
        TEST_ORG.gdpr_recording_delete_lag_hours,
        (TEST_ORG.gdpr_contact_delete_lag_hours or 0) + TEST_ORG.contact_index_lag_hours,
    )
    + 1
)


@pytest.fixture(scope="session")
def dagbag():
    """The project's DAG folder parsed once per session (the integrity and wiring tests read it)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


@pytest.fixture(scope="session")
def airflow_db() -> None:
    from airflow.utils.db import resetdb

    resetdb(skip_init=False)


@dataclass
class PurgeStack:
    sandbox: SandboxServer
    home: Path
    config_path: Path

    def configure(self, **overrides: Any) -> None:
        config = demo_config(self.sandbox.org.summary(), self.home, **overrides)
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    def run(self, dag_id: str = "genesys_retention_purge", **conf: Any):
        return load_dag(dag_id).test(run_conf=conf)

    def report(self, run) -> dict[str, Any]:
        safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in run.run_id)
        path = self.home / "reports" / f"erasure-report-{safe}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def hook(self) -> GenesysCloudHook:
        return GenesysCloudHook()

    def gdpr_request_count(self) -> int:
        return sum(1 for _ in self.hook().iter_gdpr_requests())

    def onboard(self) -> None:
        """Record in the ledger that a person approved a run on this org a year ago (first contact over)."""
        from genesys_erasure.ledger import Ledger
        from genesys_erasure.tasks.runtime import load_runtime

        with Ledger.open(load_runtime({}).ledger_url) as ledger:
            ledger.record_approval(self.sandbox.org.clock.now() - timedelta(days=365))

    def advance_clock(self, hours: float) -> None:
        """Move the sandbox clock through its admin API, as a later night would see time pass (lagging
        deletes land); never a real sleep."""
        url = f"{self.sandbox.base_url}/sandbox/faults"
        answer = requests.post(url, json={"advance_clock_seconds": hours * 3600}, timeout=10)
        answer.raise_for_status()


@pytest.fixture
def purge_stack(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., PurgeStack]]:
    """Start a sandbox (TEST_ORG with overrides), write a purge config, and point Airflow at both."""
    with sandbox_starter(TEST_ORG) as start_server:

        def start(*, first_contact: bool = False, **sandbox_overrides: Any) -> PurgeStack:
            """`first_contact=True`: an org no person has approved a run for yet, so every run that
            submits waits for approval; by default the org was onboarded (one run approved) earlier."""
            stack = _point_airflow_at(start_server(**sandbox_overrides), tmp_path, monkeypatch)
            if not first_contact:
                stack.onboard()
            return stack

        yield start


def _point_airflow_at(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PurgeStack:
    """Write the purge config for `sandbox` and point this test's Airflow environment at it."""
    home = tmp_path / "erasure-home"
    home.mkdir(exist_ok=True)
    stack = PurgeStack(sandbox, home, home / "purge.yaml")
    stack.configure()
    env = airflow_environment(
        home, sandbox.base_url, sandbox.client_id, sandbox.client_secret, stack.config_path
    )
    for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        env.pop(name)  # keep the test session's Airflow home and DB
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return stack


# -- warehouse copies: the sandbox's conversations streamed into fakesnow and bqemulator --------------------


@pytest.fixture(scope="module")
def engines():
    """One fakesnow server and one bqemulator per test module."""
    require_bqemulator()
    with LocalFakesnow() as fakesnow, LocalBigQueryEmulator() as bigquery:
        yield fakesnow, bigquery


class WarehouseStack:
    """A purge stack whose sandbox conversations also sit in both warehouses, mapped and connected."""

    def __init__(self, stack, fakesnow, bigquery) -> None:
        self.stack, self.fakesnow, self.bigquery = stack, fakesnow, bigquery
        self.org = stack.sandbox.org

    def map(self, document=None) -> None:
        path = wh.write_mapping(self.stack.home / "warehouse_mapping.yaml", document)
        self.stack.configure(warehouse_mapping_path=str(path))

    def conversations(self) -> dict[str, set[str]]:
        """Conversation ids present in each warehouse."""
        return {
            "snowflake": {r["CONVERSATION_ID"] for r in wh.snowflake_rows(self.fakesnow)},
            "bigquery": {r["CONVERSATION_ID"] for r in wh.bigquery_rows(self.bigquery)},
        }

    def ledger_rows(self):
        with Ledger.open(load_runtime({}).ledger_url) as ledger:
            return {row.subject_hash: (row, ledger.sealed_identifiers(row.subject_hash)) for row in
                    ledger.rows_in_states(list(SubjectState))}  # fmt: skip


@pytest.fixture
def wh_stack(purge_stack, engines, monkeypatch):
    """Both warehouse tables (re)seeded with the sandbox's conversations; Airflow connections point at
    the engines (`AIRFLOW_CONN_*`), the purge config at the demo mapping."""
    fakesnow, bigquery = engines
    stack = purge_stack()
    rows = wh.sandbox_event_rows(stack.sandbox.org, KeyedHasher(key_from_text(DEMO_HMAC_KEY)))
    wh.seed_warehouses(fakesnow, bigquery, rows)
    for name, value in wh.warehouse_connections_env(fakesnow, bigquery).items():
        monkeypatch.setenv(name, value)
    under_test = WarehouseStack(stack, fakesnow, bigquery)
    under_test.map()
    return under_test
