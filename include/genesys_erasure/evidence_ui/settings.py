"""Where the evidence page reads from: the report directory, the ledger and the HMAC key (for the look-up's
keyed hash and for checking reports signed before Ed25519); and for the intake page, the sealing key and
the intake directory. In Airflow they come from the purge config
(`GENESYS_ERASURE_CONFIG` / `GENESYS_ERASURE_HOME`, as for the DAGs) and Airflow connections, resolved on
each request so a changed connection needs no restart; tests hand in their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvidenceSettings:
    report_dir: Path
    ledger_url: str
    hmac_key: Callable[[], bytes]  # called only when needed: the key is never kept on the page's objects
    default_phone_region: str | None = None
    # the intake page's: the sealing key (called only when a list is sealed) and where sealed lists go
    sealing_key: Callable[[], bytes] | None = None
    intake_dir: Path | None = None


def _connection_password(conn_id: str) -> str:
    # The API server is no task: the SDK's task-side connection API is not there; the models' secrets
    # lookup (environment variables, secrets backends, metadata DB) is.
    from airflow.models.connection import Connection

    password = Connection.get_connection_from_secrets(conn_id).password
    if not password:
        raise ValueError(f"Airflow connection '{conn_id}' has no password (the key)")
    return password


def _ledger_url(config) -> str:
    from genesys_erasure.steps.runtime import sqlite_ledger_url

    if not config.ledger_conn_id:
        return sqlite_ledger_url(config)
    from airflow.models.connection import Connection

    uri = Connection.get_connection_from_secrets(config.ledger_conn_id).get_uri()
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg2://" + uri[len(prefix) :]
    return uri


def from_airflow() -> EvidenceSettings:
    """The deployment's settings, as the DAGs see them."""
    from genesys_erasure.evidence import key_from_text
    from genesys_erasure.intake_files import intake_dir
    from genesys_erasure.steps.runtime import load_run_config, project_home
    from genesys_erasure.tasks.runtime import SEALING_KEY_CONN_ID

    config = load_run_config({})
    report_dir = Path(config.report_dir)
    return EvidenceSettings(
        report_dir=report_dir if report_dir.is_absolute() else project_home() / report_dir,
        ledger_url=_ledger_url(config),
        hmac_key=lambda: key_from_text(_connection_password(config.hmac_key_conn_id)),
        default_phone_region=config.default_phone_region,
        sealing_key=lambda: key_from_text(_connection_password(SEALING_KEY_CONN_ID)),
        intake_dir=intake_dir(config.intake_dir, project_home()),
    )
