"""A worker process for the cross-process pacing test: the deployment's hook on the shared ledger store,
posting GDPR deletes once told to go. Its own module so a spawned child imports only what it needs."""

from __future__ import annotations

import os

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"


def post_requests(conn: str, ledger_url: str, numbers: range, *, ready, go, results) -> None:
    """Post one GDPR_DELETE per number in `numbers` (fake addresses); put the created ids on `results`."""
    os.environ[CONN_ENV] = conn
    from genesys_cloud.hook import GenesysCloudHook
    from genesys_erasure.ledger import create_ledger_engine
    from genesys_erasure.ledger.client_state import LedgerClientState

    engine = create_ledger_engine(ledger_url)
    ids: list[str] = []
    try:
        with GenesysCloudHook(shared_state=LedgerClientState(engine)) as hook:
            _ = hook.settings  # the connection is read before the start line, not in the race
            ready.release()
            go.wait(timeout=60)
            for n in numbers:
                subject = {"emailAddresses": [f"worker.subject.{n}@example.org"]}
                ids.append(hook.submit_gdpr_request("GDPR_DELETE", subject)["id"])
    finally:
        results.put(ids)
        engine.dispose()
