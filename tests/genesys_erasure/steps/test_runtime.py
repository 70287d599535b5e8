"""The runtime's resources: one Genesys client and one database engine per task, closed on exit."""

from __future__ import annotations

from genesys_cloud.hook import GenesysCloudHook
from genesys_devtools.demo import DEMO_SEALING_KEY
from genesys_erasure.evidence import key_from_text
from genesys_erasure.steps.plan import plan_erasure
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.scan import find_expired_customers
from genesys_erasure.steps.submit import submit_batch
from tests.genesys_erasure.steps.conftest import plan_request


def test_every_step_of_a_task_shares_one_genesys_client(world):
    seed = world.expired_seed("shared@example.org")

    find_expired_customers(world.runtime, "run", world.now)
    summary = plan_erasure(world.runtime, "run", plan_request(seed), world.now)
    submit_batch(world.runtime, "run", summary["batches"][0])

    assert len(world.clients_made) == 1


def test_the_ledger_and_the_workspace_share_one_engine(world):
    find_expired_customers(world.runtime, "run", world.now)  # writes the workspace

    assert world.runtime.ledger._engine is world.runtime.workspace()._engine


class RecordingHook(GenesysCloudHook):
    """The real hook, noting whether it was closed (its session is its own business)."""

    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


def test_leaving_the_runtime_closes_its_client_and_disposes_its_engine(world):
    runtime = ErasureRuntime(
        config=world.runtime.config,
        hmac_key=world.runtime.signing_key,
        sealing_key=key_from_text(DEMO_SEALING_KEY),
        ledger_url=world.runtime.ledger_url,
        client_factory=lambda config: RecordingHook(genesys_conn_id=config.genesys_conn_id),
    )
    with runtime:
        client = runtime.client
        client.get_data_availability()
        engine = runtime.ledger._engine
        runtime.ledger.rows_for_run("run")
        assert engine.pool.checkedin() == 1  # a pooled connection, kept open while the task runs

    assert client.closed
    assert engine.pool.checkedin() == 0


def test_a_runtime_that_never_calls_genesys_makes_no_client(world):
    world.runtime.ledger.rows_for_run("run")

    assert world.clients_made == []
