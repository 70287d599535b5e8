"""docker-compose's `sandbox` service (the `rehearsal` profile): the Genesys Cloud sandbox, and the two
warehouse services (fakesnow, bqemulator) seeded with its conversations, as `make demo` seeds its own.

    python -m genesys_devtools.compose_rehearsal --snowflake fakesnow:8000 --bigquery http://bqemulator:9050

Serves the sandbox on --host/--port until SIGTERM. The warehouses may still be starting: seeding retries
for a minute. Rows carry keyed hashes under $GENESYS_ERASURE_HMAC_KEY, the key the Airflow services'
`genesys_erasure_hmac` connection holds (the same .env variable), so the warehouse step finds them.
The mapping for these tables is config/warehouse_mapping.rehearsal.yaml.
"""

from __future__ import annotations

import argparse
import os
import sys

from tenacity import retry, stop_after_delay, wait_fixed

from genesys_devtools import demo_warehouses as wh
from genesys_devtools.local_engines import CONVERSATION_EVENTS, seed_bigquery_table, seed_snowflake_table
from genesys_erasure.evidence import key_from_text
from genesys_erasure.hashing import KeyedHasher
from genesys_sandbox import SandboxServer, SandboxSettings
from genesys_sandbox.server import serve_until_signalled

HMAC_KEY_ENV = "GENESYS_ERASURE_HMAC_KEY"


@retry(stop=stop_after_delay(60), wait=wait_fixed(2), reraise=True)
def seed_snowflake(address: str, rows: list[dict]) -> None:
    import snowflake.connector

    host, _, port = address.partition(":")
    connection = snowflake.connector.connect(
        account="fakesnow", user="fake", password="fake", host=host, port=int(port or 8000), protocol="http"
    )
    try:
        seed_snowflake_table(connection, wh.SF_DATABASE, wh.SF_SCHEMA, CONVERSATION_EVENTS, rows)
    finally:
        connection.close()


@retry(stop=stop_after_delay(60), wait=wait_fixed(2), reraise=True)
def seed_bigquery(endpoint: str, project: str, rows: list[dict]) -> None:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=project,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=endpoint),
    )
    try:
        hashed_only = [{**row, **dict.fromkeys(wh.RAW_COLUMNS)} for row in rows]  # as the demo's copy
        seed_bigquery_table(client, wh.BQ_DATASET, CONVERSATION_EVENTS, hashed_only)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0", help="all interfaces: it serves the compose network")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--profile", default="pessimistic")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--snowflake", help="fakesnow host:port (omit: no Snowflake copy)")
    parser.add_argument("--bigquery", help="bqemulator REST endpoint (omit: no BigQuery copy)")
    parser.add_argument("--bigquery-project", default="local-project")
    args = parser.parse_args(argv)

    settings = SandboxSettings.for_profile(args.profile, seed=args.seed, gdpr_step_seconds=0.5)
    server = SandboxServer(settings, host=args.host, port=args.port).start()
    print(f"Genesys Cloud sandbox on {server.base_url} (profile {args.profile})", flush=True)
    rows = wh.sandbox_event_rows(server.org, KeyedHasher(key_from_text(os.environ[HMAC_KEY_ENV])))
    if args.snowflake:
        seed_snowflake(args.snowflake, rows)
        print(f"Seeded {len(rows)} conversation events into Snowflake at {args.snowflake}", flush=True)
    if args.bigquery:
        seed_bigquery(args.bigquery, args.bigquery_project, rows)
        print(f"Seeded {len(rows)} conversation events into BigQuery at {args.bigquery}", flush=True)
    return serve_until_signalled(server)


if __name__ == "__main__":
    sys.exit(main())
