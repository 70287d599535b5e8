"""The demo's (and the end-to-end tests') warehouse copies: the sandbox's conversations as if streamed
from Genesys into Snowflake (fakesnow, server mode) and BigQuery (bqemulator), the mapping file for them,
and the Airflow connections that reach them.

- Snowflake `ANALYTICS.GENESYS.CONVERSATION_EVENTS`: raw e-mail, phone and external contact id, plus
  the e-mail's plain SHA-256, as an events export usually lands.
- BigQuery `genesys_events.CONVERSATION_EVENTS`: a pseudonymised stream: conversation id, the e-mail's
  plain SHA-256 and the phone's keyed HMAC only (the raw columns are empty).

Nothing here is needed in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from genesys_devtools.local_engines import (
    CONVERSATION_EVENTS,
    LocalBigQueryEmulator,
    LocalFakesnow,
    conversation_event_row,
    seed_bigquery_table,
    seed_snowflake_table,
)
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifier_matching import IdentifierMatcher
from genesys_erasure.identifiers import Identifier, IdentifierKind

SNOWFLAKE_CONN_ID = "genesys_snowflake"
BIGQUERY_CONN_ID = "genesys_bigquery"
SF_DATABASE, SF_SCHEMA, BQ_DATASET = "ANALYTICS", "GENESYS", "genesys_events"
TABLE = CONVERSATION_EVENTS.name
RAW_COLUMNS = ("CUSTOMER_EMAIL", "CUSTOMER_PHONE", "EXTERNAL_CONTACT_ID")


def _col(name: str, identifier: str, form: str) -> dict[str, str]:
    return {"name": name, "identifier": identifier, "form": form}


def demo_mapping() -> dict[str, Any]:
    """The mapping document for the two demo tables (see config/warehouse_mapping.example.yaml)."""
    snowflake_columns = [
        _col("CONVERSATION_ID", "conversation_id", "raw"),
        _col("CUSTOMER_EMAIL", "email", "raw"),
        _col("CUSTOMER_PHONE", "phone", "raw"),
        _col("EXTERNAL_CONTACT_ID", "external_contact_id", "raw"),
        _col("EMAIL_SHA256", "email", "sha256"),
    ]
    bigquery_columns = [
        _col("CONVERSATION_ID", "conversation_id", "raw"),
        _col("EMAIL_SHA256", "email", "sha256"),
        _col("PHONE_HMAC", "phone", "keyed_hmac"),
    ]
    return {
        "version": 1,
        "connections": [
            {"name": "snowflake_events", "type": "snowflake", "airflow_conn_id": SNOWFLAKE_CONN_ID,
             "database": SF_DATABASE, "schema": SF_SCHEMA,
             "tables": [{"name": TABLE, "action": "delete", "columns": snowflake_columns}]},
            {"name": "bigquery_events", "type": "bigquery", "airflow_conn_id": BIGQUERY_CONN_ID,
             "dataset": BQ_DATASET,
             "tables": [{"name": TABLE, "action": "delete", "columns": bigquery_columns}]},
        ],
    }  # fmt: skip


def write_mapping(path: Path, document: Mapping[str, Any] | None = None) -> Path:
    path.write_text(yaml.safe_dump(dict(document or demo_mapping()), sort_keys=False), encoding="utf-8")
    return path


def sandbox_event_rows(org, hasher: KeyedHasher) -> list[dict[str, Any]]:
    """One streamed event per sandbox conversation with a known customer: the customer's e-mail and phone
    that the conversation's own addresses name (so a fragmented identity stays fragmented), normalised as
    a streaming job would: with real data shapes a conversation stores a number as `sip:`/national and an
    address inside a header with display names, and the event still carries the customer's value."""
    rows = []
    for conversation in org.conversations.values():
        customer = org.customers.get(conversation.customer_id)
        if customer is None:
            continue
        addresses = list(_customer_addresses(conversation))
        emails = [
            e for e in customer.emails if _named(Identifier(IdentifierKind.EMAIL, e.lower()), addresses)
        ]
        phones = [p for p in customer.phones if _named(Identifier(IdentifierKind.PHONE, p), addresses)]
        contact = next(
            (p.external_contact_id for p in conversation.participants if p.external_contact_id), None
        )
        rows.append(
            conversation_event_row(
                f"{conversation.id}-1",
                conversation.id,
                conversation.start.date(),
                email=emails[0].lower() if emails else None,
                phone=phones[0] if phones else None,
                external_contact_id=contact,
                hasher=hasher,
            )
        )
    return rows


def _named(identifier: Identifier, addresses: list[str]) -> bool:
    matcher = IdentifierMatcher([identifier])
    return any(matcher.matches(address) for address in addresses)


def _customer_addresses(conversation) -> Iterable[str]:
    for participant in conversation.participants:
        if participant.purpose not in ("customer", "external"):
            continue
        for session in participant.sessions:
            for value in (session.ani, session.dnis, session.address_from, session.address_to, session.remote,
                          *session.callback_numbers):  # fmt: skip
                if value:
                    yield value.removeprefix("tel:").removeprefix("mailto:").strip()
                    yield value.removeprefix("tel:").removeprefix("mailto:").strip().lower()


def seed_warehouses(fakesnow: LocalFakesnow, bigquery: LocalBigQueryEmulator, rows: list[dict]) -> None:
    """(Re)create both tables with `rows`; BigQuery's copy keeps hashes and conversation ids only."""
    connection = fakesnow.connect()
    try:
        seed_snowflake_table(connection, SF_DATABASE, SF_SCHEMA, CONVERSATION_EVENTS, rows)
    finally:
        connection.close()
    hashed_only = [{**row, **dict.fromkeys(RAW_COLUMNS)} for row in rows]
    client = bigquery.client()
    try:
        seed_bigquery_table(client, BQ_DATASET, CONVERSATION_EVENTS, hashed_only)
    finally:
        client.close()


def warehouse_connections_env(fakesnow: LocalFakesnow, bigquery: LocalBigQueryEmulator) -> dict[str, str]:
    """`AIRFLOW_CONN_*` variables for the mapping's two connections."""
    snowflake = {"conn_type": "snowflake", "login": "fake", "password": "fake",
                 "extra": fakesnow.airflow_extras(SF_DATABASE, SF_SCHEMA)}  # fmt: skip
    return {
        f"AIRFLOW_CONN_{SNOWFLAKE_CONN_ID.upper()}": json.dumps(snowflake),
        f"AIRFLOW_CONN_{BIGQUERY_CONN_ID.upper()}": json.dumps(
            {"conn_type": "generic", "extra": bigquery.airflow_extras()}
        ),
    }


def snowflake_rows(fakesnow: LocalFakesnow) -> list[dict[str, Any]]:
    connection = fakesnow.connect()
    try:
        cursor = connection.cursor()
        cursor.execute(f'SELECT * FROM "{SF_DATABASE}"."{SF_SCHEMA}"."{TABLE}"')
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def bigquery_rows(bigquery: LocalBigQueryEmulator) -> list[dict[str, Any]]:
    client = bigquery.client()
    try:
        sql = f"SELECT * FROM `{client.project}.{BQ_DATASET}.{TABLE}`"
        return [dict(row.items()) for row in client.query(sql).result()]
    finally:
        client.close()


def ensure_warehouse_pool(name: str, slots: int = 1) -> None:
    """Create the warehouse DML pool in the Airflow metadata DB (what `airflow pools set` does).
    `dag.test()` runs without it; a scheduler does not start tasks of a pool that does not exist."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        name, slots, "Serialises warehouse erasure DML (BigQuery: 2 running DML per table)", False
    )
