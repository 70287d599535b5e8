"""Everything one task of the erasure flow needs, built from the config file, the run's Params and the
Airflow connections that hold the keys.

The config file is read again by every task (it is small), so no task passes settings, and none passes
the exclusion list (personal data), through XCom.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import MultiFernet

from genesys_cloud.hook import GenesysCloudHook
from genesys_erasure.config import OVERRIDABLE_FIELDS, ConfigError, PurgeConfig, load_config
from genesys_erasure.evidence import key_from_text
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.ledger import Ledger, create_ledger_engine
from genesys_erasure.sealing import IdentifierSealer
from genesys_erasure.workspace import RunWorkspace

log = logging.getLogger(__name__)

CONFIG_ENV = "GENESYS_ERASURE_CONFIG"
HOME_ENV = "GENESYS_ERASURE_HOME"
DEFAULT_CONFIG = "config/purge.yaml"
SEALING_KEY_CONN_ID = "genesys_erasure_sealing"


def project_home() -> Path:
    """Relative paths in the config (ledger file, reports) are resolved against this directory."""
    return Path(os.environ.get(HOME_ENV) or os.getcwd())


def config_path() -> Path | None:
    raw = os.environ.get(CONFIG_ENV)
    path = Path(raw) if raw else project_home() / DEFAULT_CONFIG
    if raw and not path.exists():
        raise ConfigError(None, f"{CONFIG_ENV} names a file that does not exist: {path}")
    return path if path.exists() else None


def load_run_config(params: Mapping[str, Any] | None) -> PurgeConfig:
    """The config file with the run's Params applied; only Params that name a setting are applied."""
    path = config_path()
    config = load_config(path) if path else PurgeConfig.from_dict({})
    overrides = {k: v for k, v in (params or {}).items() if k in OVERRIDABLE_FIELDS}
    return config.with_overrides(overrides)


def _connection_secret(conn_id: str, what: str) -> bytes:
    from airflow.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:  # the SDK raises its own not-found type; the message must name the conn
        raise ConfigError(f"{what}", f"Airflow connection '{conn_id}' is not defined") from exc
    if not connection.password:
        raise ConfigError(f"{what}", f"Airflow connection '{conn_id}' has no password (the key)")
    return key_from_text(connection.password)


def _ledger_url(config: PurgeConfig) -> str:
    if config.ledger_conn_id:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(config.ledger_conn_id)
        uri = connection.get_uri()
        for prefix in ("postgres://", "postgresql://"):
            if uri.startswith(prefix):
                return "postgresql+psycopg2://" + uri[len(prefix) :]
        return uri
    path = Path(config.ledger_path)
    if not path.is_absolute():
        path = project_home() / path
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class ErasureRuntime:
    config: PurgeConfig
    hasher: KeyedHasher
    sealer: IdentifierSealer
    signing_key: bytes
    ledger_url: str
    workspace_fernet: MultiFernet

    def __repr__(self) -> str:
        return "ErasureRuntime(<keys hidden>)"

    def hook(self) -> GenesysCloudHook:
        return GenesysCloudHook(genesys_conn_id=self.config.genesys_conn_id)

    def open_ledger(self) -> Ledger:
        return Ledger.open(self.ledger_url)

    def workspace(self) -> RunWorkspace:
        return RunWorkspace(create_ledger_engine(self.ledger_url), self.workspace_fernet)

    def report_dir(self) -> Path:
        path = Path(self.config.report_dir)
        return path if path.is_absolute() else project_home() / path


def load_runtime(params: Mapping[str, Any] | None) -> ErasureRuntime:
    config = load_run_config(params)
    hmac_key = _connection_secret(config.hmac_key_conn_id, "hmac_key_conn_id")
    sealing_key = _connection_secret(SEALING_KEY_CONN_ID, "sealing key connection")
    sealer = IdentifierSealer(sealing_key)
    return ErasureRuntime(
        config=config,
        hasher=KeyedHasher(hmac_key),
        sealer=sealer,
        signing_key=hmac_key,
        ledger_url=_ledger_url(config),
        workspace_fernet=sealer.cipher,  # the same keys: hand-offs are sealed identifiers too
    )
