"""`GenesysHookBase`: what the sync and the async Genesys Cloud hook share on the Airflow side.

The `genesys_cloud` connection type (its form: `provider_info.py`), the hook arguments that override the
connection's extras, and turning a connection into `ClientSettings`. The I/O lives in the hooks, the
rules in `transport.py`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.provider_info import CONNECTION_TYPE, HOOK_NAME


class GenesysHookBase(BaseHook):
    """Base of the Genesys Cloud hooks.

    :param genesys_conn_id: Connection id (see `client_settings` for its fields and extras).
    :param max_attempts: Attempts per call (overrides the connection's extra).
    :param max_wait_seconds: Longest single wait between attempts; a longer `Retry-After` fails the call.
    :param rate_limit_per_minute: Optional ceiling below the org limit, e.g. 300.
    :param timeout: Seconds to wait for one answer.
    :param client_index: Which OAuth client of the connection to use: 0 = login/password, 1.. = the
        connection's `extra_clients` in order (each has its own token and rate limit).
    """

    conn_name_attr = "genesys_conn_id"
    default_conn_name = "genesys_cloud_default"
    conn_type = CONNECTION_TYPE
    hook_name = HOOK_NAME

    def __init__(
        self,
        genesys_conn_id: str = default_conn_name,
        *,
        max_attempts: int | None = None,
        max_wait_seconds: float | None = None,
        rate_limit_per_minute: float | None = None,
        timeout: float | None = None,
        client_index: int = 0,
    ) -> None:
        super().__init__()
        self.genesys_conn_id = genesys_conn_id
        self.client_index = client_index
        self._overrides = {
            "max_attempts": max_attempts,
            "max_wait_seconds": max_wait_seconds,
            "rate_limit_per_minute": rate_limit_per_minute,
            "timeout": timeout,
        }
        self._settings: ClientSettings | None = None
        self._rng = random.Random()

    def _settings_from(self, conn: Any, extra: Mapping[str, Any]) -> ClientSettings:
        """Read (once) the settings from an Airflow connection and its decoded extras."""
        self._settings = ClientSettings.from_connection(
            conn_id=self.genesys_conn_id,
            host=conn.host,
            port=conn.port,
            schema=conn.schema,
            login=conn.login,
            password=conn.password,
            extra=extra,
            overrides=self._overrides,
        ).for_client(self.client_index)
        return self._settings
