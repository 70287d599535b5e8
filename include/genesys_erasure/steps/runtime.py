"""`ErasureRuntime`: everything one erasure step needs, built from plain values (the settings, the two
keys, the ledger URL and a factory for the Genesys client), plus reading the settings file.

No Airflow here: where the keys and the ledger URL come from in a deployment (Airflow connections) is
`genesys_erasure.tasks.runtime`. The runtime owns ONE Genesys client and ONE database engine (the ledger
and the run workspace share it) and closes both when it is left:

    with ErasureRuntime(config=..., hmac_key=..., sealing_key=..., ledger_url=..., client_factory=...) as rt:
        find_expired_customers(rt, run_id, now)

The config file is read again by every task (it is small), so no task passes settings, and none passes
the exclusion list (personal data), through XCom.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from genesys_erasure.config import OVERRIDABLE_FIELDS, ConfigError, PurgeConfig, load_config
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.ledger import Ledger, create_ledger_engine
from genesys_erasure.sealing import IdentifierSealer
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.workspace import RunWorkspace

log = logging.getLogger(__name__)

CONFIG_ENV = "GENESYS_ERASURE_CONFIG"
HOME_ENV = "GENESYS_ERASURE_HOME"
DEFAULT_CONFIG = "config/purge.yaml"

ClientFactory = Callable[[PurgeConfig], GenesysClient]


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


def sqlite_ledger_url(config: PurgeConfig, home: Path | None = None) -> str:
    """The embedded ledger's URL (`ledger_path`, relative paths under the project home)."""
    path = Path(config.ledger_path)
    if not path.is_absolute():
        path = (home or project_home()) / path
    return f"sqlite:///{path}"


class ErasureRuntime:
    """The settings, the keyed hasher, the identifier sealer and the signing key of a run, and the two
    resources a step talks to: the Genesys client (`client`) and the ledger database (`ledger`,
    `workspace()`). Both resources are opened on first use and closed by `close()` / leaving `with`, so a
    step that never calls Genesys never makes a client."""

    def __init__(
        self,
        *,
        config: PurgeConfig,
        hmac_key: bytes,
        sealing_key: bytes,
        ledger_url: str,
        client_factory: ClientFactory,
        home: Path | None = None,
    ) -> None:
        self.config = config
        self.hasher = KeyedHasher(hmac_key)
        self.sealer = IdentifierSealer(sealing_key)
        self.signing_key = hmac_key
        self.ledger_url = ledger_url
        self.workspace_fernet = self.sealer.cipher  # the same keys: hand-offs are sealed identifiers too
        self.home = home
        self._client_factory = client_factory
        self._client: GenesysClient | None = None
        self._engine: Engine | None = None
        self._ledger: Ledger | None = None
        self._workspace: RunWorkspace | None = None

    def __repr__(self) -> str:
        return "ErasureRuntime(<keys hidden>)"

    def __enter__(self) -> ErasureRuntime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def client(self) -> GenesysClient:
        """The run's one Genesys client (one HTTP session and token for the whole task)."""
        if self._client is None:
            self._client = self._client_factory(self.config)
        return self._client

    def _database(self) -> Engine:
        if self._engine is None:
            self._engine = create_ledger_engine(self.ledger_url)
        return self._engine

    @property
    def ledger(self) -> Ledger:
        """The ledger, on the runtime's engine. Not to be closed by a step: the runtime closes it."""
        if self._ledger is None:
            self._ledger = Ledger.open(self._database())
        return self._ledger

    def workspace(self) -> RunWorkspace:
        """The run workspace, on the same engine as the ledger."""
        if self._workspace is None:
            self._workspace = RunWorkspace(self._database(), self.workspace_fernet)
        return self._workspace

    def report_dir(self) -> Path:
        path = Path(self.config.report_dir)
        return path if path.is_absolute() else (self.home or project_home()) / path

    def close(self) -> None:
        """Close the client and dispose of the engine (both reopen on next use). The engine is disposed
        even when closing the client fails, so no database connection outlives the task."""
        client, self._client = self._client, None
        engine, self._engine = self._engine, None
        self._ledger = self._workspace = None
        try:
            if client is not None:
                client.close()
        finally:
            if engine is not None:
                engine.dispose()
