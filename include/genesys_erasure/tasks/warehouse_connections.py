"""Airflow glue for the warehouse erasure: connections in, a DB-API connection / `bigquery.Client` out.

- `ProtocolSnowflakeHook`: the Snowflake provider's hook forwards `host` and `port` from the extras but
  not `protocol`, so it always speaks HTTPS; fakesnow's server (the demo's Snowflake) speaks HTTP. It also
  binds parameters on the server by default (see its doc).
- `bigquery_client_from_connection`: a `google-cloud-bigquery` client from an Airflow connection, without
  the heavy Google provider. Extras: `project`; then either `endpoint` (an emulator: anonymous
  credentials) or a service-account key (`keyfile_dict` as JSON text/object, or `key_path`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

from genesys_erasure.warehouse.mapping import ConnectionMapping, WarehouseKind

BIGQUERY_SCOPES = ("https://www.googleapis.com/auth/bigquery",)


class ProtocolSnowflakeHook(SnowflakeHook):
    """`SnowflakeHook` that also passes `protocol` ("http"/"https") and `paramstyle` from the extras.

    `paramstyle` defaults to "qmark" (server-side binding): with the connector's own default, "pyformat",
    values are escaped into the statement text on the client, and statement text is kept in Snowflake's
    query history for a year, which would keep the erased identifiers there. The warehouse executor
    writes its SQL for either style.
    """

    hook_name = "Snowflake (protocol and paramstyle from extras)"

    def _get_conn_params(self) -> dict[str, Any]:
        params = dict(super()._get_conn_params())
        extras = self.get_connection(self.get_conn_id()).extra_dejson
        protocol = extras.get("protocol")
        if protocol is not None:
            if protocol not in ("http", "https"):
                raise ValueError(f"connection {self.get_conn_id()!r}: extra 'protocol' must be http or https")
            params["protocol"] = protocol
        paramstyle = extras.get("paramstyle", "qmark")
        if paramstyle not in ("qmark", "pyformat"):
            raise ValueError(
                f"connection {self.get_conn_id()!r}: extra 'paramstyle' must be qmark or pyformat"
            )
        params["paramstyle"] = paramstyle
        return params


class BigQueryConnectionError(ValueError):
    pass


def bigquery_client_from_extras(extras: Mapping[str, Any], conn_id: str = "<extras>"):
    """Build the client from connection extras (see the module doc). Pure: no Airflow lookup."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import bigquery

    project = extras.get("project") or extras.get("project_id")
    endpoint = extras.get("endpoint")
    credentials = _service_account_credentials(extras, conn_id)
    if credentials is None:
        if not endpoint:
            raise BigQueryConnectionError(
                f"connection {conn_id!r}: no credentials; set extra 'keyfile_dict' or 'key_path' "
                "(service account), or 'endpoint' for a local emulator"
            )
        host = urlparse(endpoint).hostname or ""
        if host == "googleapis.com" or host.endswith(".googleapis.com"):
            raise BigQueryConnectionError(
                f"connection {conn_id!r}: anonymous credentials are only for an emulator endpoint"
            )
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    if not project:
        project = getattr(credentials, "project_id", None)
    if not project:
        raise BigQueryConnectionError(f"connection {conn_id!r}: extra 'project' is required")
    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    return bigquery.Client(project=project, credentials=credentials, client_options=options)


def bigquery_client_from_connection(conn_id: str):
    """The client for Airflow connection `conn_id` (any conn type; only its extras are read)."""
    from airflow.sdk import BaseHook

    return bigquery_client_from_extras(BaseHook.get_connection(conn_id).extra_dejson, conn_id)


@contextmanager
def open_warehouse(conn: ConnectionMapping) -> Iterator[Any]:
    """The handle `erase_connection` takes for a mapped connection, closed afterwards: a Snowflake
    connection through `ProtocolSnowflakeHook`, or a BigQuery client, from `conn.airflow_conn_id`."""
    if conn.kind is WarehouseKind.SNOWFLAKE:
        handle = ProtocolSnowflakeHook(snowflake_conn_id=conn.airflow_conn_id).get_conn()
    else:
        handle = bigquery_client_from_connection(conn.airflow_conn_id)
    try:
        yield handle
    finally:
        handle.close()


def _service_account_credentials(extras: Mapping[str, Any], conn_id: str):
    keyfile = extras.get("keyfile_dict")
    key_path = extras.get("key_path")
    if keyfile is None and key_path is None:
        return None
    from google.oauth2 import service_account

    try:
        if keyfile is not None:
            info = json.loads(keyfile) if isinstance(keyfile, str) else dict(keyfile)
            return service_account.Credentials.from_service_account_info(info, scopes=BIGQUERY_SCOPES)
        return service_account.Credentials.from_service_account_file(key_path, scopes=BIGQUERY_SCOPES)
    except (ValueError, OSError, KeyError) as exc:
        # Never echo the key material: name the field and the kind of problem only.
        field = "keyfile_dict" if keyfile is not None else "key_path"
        raise BigQueryConnectionError(
            f"connection {conn_id!r}: extra {field!r} is not a usable service-account key"
            f" ({type(exc).__name__})"
        ) from None
