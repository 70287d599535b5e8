"""The rehearsal world a local Airflow deployment runs against: the Genesys Cloud sandbox (in this process)
and both local warehouses (fakesnow and bqemulator, child processes) seeded with its conversations, the
purge configuration and warehouse mapping written under a home directory, and the `AIRFLOW_CONN_*` /
`GENESYS_ERASURE_*` variables that point every Airflow component at them.

`make airflow` (genesys_devtools.standalone) and the Celery integration test (tests/support/deployment.py)
use it; `make demo` builds the same world inline. Nothing here is needed in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from genesys_devtools import demo_warehouses as wh
from genesys_devtools.demo import DEMO_HMAC_KEY, airflow_environment, demo_config
from genesys_devtools.local_engines import LocalBigQueryEmulator, LocalFakesnow
from genesys_erasure.evidence import key_from_text
from genesys_erasure.hashing import KeyedHasher
from genesys_sandbox import SandboxServer, SandboxSettings


class Rehearsal:
    """Start with `with Rehearsal(home, settings) as world:`; `world.environment()` is what Airflow needs.

    `config_overrides` change the purge settings (e.g. `ledger_conn_id`); `warehouses=False` leaves the
    warehouse step unconfigured (no emulators started)."""

    def __init__(
        self,
        home: Path,
        settings: SandboxSettings,
        *,
        config_overrides: Mapping[str, Any] | None = None,
        warehouses: bool = True,
    ) -> None:
        self.home = home
        self.settings = settings
        self.config_overrides = dict(config_overrides or {})
        self.warehouses = warehouses
        self.config_path = home / "purge.yaml"
        self.sandbox: SandboxServer | None = None
        self.fakesnow: LocalFakesnow | None = None
        self.bigquery: LocalBigQueryEmulator | None = None
        self._stack = ExitStack()

    def __enter__(self) -> Rehearsal:
        try:
            self.start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the sandbox and the warehouses."""
        self._stack.close()

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.sandbox = self._stack.enter_context(SandboxServer(self.settings))
        overrides = dict(self.config_overrides)
        if self.warehouses:
            self._start_warehouses()
            overrides["warehouse_mapping_path"] = str(wh.write_mapping(self.home / "warehouse_mapping.yaml"))
        config = demo_config(self.sandbox.org.summary(), self.home, **overrides)
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    def _start_warehouses(self) -> None:
        # Both emulators take seconds to come up: start them side by side.
        self.fakesnow, self.bigquery = LocalFakesnow(), LocalBigQueryEmulator()
        self._stack.callback(self.fakesnow.stop)
        self._stack.callback(self.bigquery.stop)
        with ThreadPoolExecutor(max_workers=2) as pool:
            for started in [pool.submit(self.fakesnow.start), pool.submit(self.bigquery.start)]:
                started.result()
        rows = wh.sandbox_event_rows(self.sandbox.org, KeyedHasher(key_from_text(DEMO_HMAC_KEY)))
        wh.seed_warehouses(self.fakesnow, self.bigquery, rows)

    def environment(self) -> dict[str, str]:
        """The project's variables for an Airflow component: config, home, and every connection (Genesys
        sandbox, keys, warehouses). The Airflow home and metadata DB are the caller's."""
        sb = self.sandbox
        env = airflow_environment(self.home, sb.base_url, sb.client_id, sb.client_secret, self.config_path)
        for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
            env.pop(name)
        if self.fakesnow is not None and self.bigquery is not None:
            env.update(wh.warehouse_connections_env(self.fakesnow, self.bigquery))
        return env
