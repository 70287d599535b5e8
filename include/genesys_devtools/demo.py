"""`make demo`: the nightly retention purge, end to end, on the embedded default.

Starts the Genesys Cloud sandbox (a real HTTP server with a seeded org of ~2,000 customers and 20,000
conversations over 6 years, on the "pessimistic" profile by default: lagging deletes, placeholders,
tokenised and partial contact search, several divisions, real data shapes) and two local
warehouses holding its conversations as if streamed from Genesys (fakesnow for Snowflake, bqemulator for
BigQuery), points an Airflow home under `var/demo/` at them, runs `genesys_retention_purge` with
`dag.test()` (the deferrable sensor's trigger runs in line), and prints the warehouse rows before and
after, the subjects per final state (erasure_pending = a delete Genesys has scheduled, verified by a later
night), a check of the sandbox's own data and where the signed report is.

Nothing here is needed in production: there, the DAG runs in a real Airflow deployment with connections
pointing at a real org (README, "Pointing it at a real org").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from genesys_devtools.approvals import APPROVE, answer_approval

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "genesys_retention_purge"
# Demo-only keys: a real deployment keeps its own in a secrets backend (README).
DEMO_HMAC_KEY = "demo-only-hmac-key-0123456789abcdef"
DEMO_SEALING_KEY = "hex:" + "00112233445566778899aabbccddeeff" * 2
# The Ed25519 private key's 32-byte seed: reports and certificates are signed with it (demo only).
DEMO_SIGNING_KEY = "hex:" + b"d3m0".hex() * 8
# The profile's own data shapes by default ("none" = no override): real ones on the pessimistic profile.
# There the 2,000-customer org ends its first night with no subject failed and none erased wrongly, but
# with identifiers quarantined for a partial contact search, never erased (README, Known limitations);
# `--data-shapes clean` shows the org without them.
DEMO_DATA_SHAPES = "none"
FINAL_STATES = ("verified", "erasure_pending", "needs_review", "deferred", "quarantined", "failed", "dry_run")


def demo_config(summary: Mapping[str, Any], home: Path, **overrides: Any) -> dict[str, Any]:
    """The purge settings for a sandbox org: its own outbound numbers and mailboxes are listed (its
    inbound DIDs are detected from the data), paths live under `home`."""
    own = summary["ownNumbers"]
    config = {
        "retention_days": 1826,
        "max_subjects_per_run": 5000,
        "max_purge_fraction": 0.9,
        "own_numbers": [*own["tollFree"], *own["sms"]],
        "own_addresses": list(summary["ownEmailAddresses"]),
        "poll_interval_seconds": 1,
        "wait_deadline_days": 1,
        "resubmit_backoff_minutes": 0,
        "ledger_path": str(home / "ledger.sqlite"),
        "report_dir": str(home / "reports"),
    }
    config.update(overrides)
    return config


def airflow_environment(
    home: Path, base_url: str, client_id: str, secret: str, config: Path
) -> dict[str, str]:
    """Environment for an Airflow home that runs this project's DAGs against `base_url`."""
    return {
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow' / 'airflow.db'}",
        "GENESYS_ERASURE_HOME": str(home),
        "GENESYS_ERASURE_CONFIG": str(config),
        "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT": json.dumps(
            {"conn_type": "genesys_cloud", "host": base_url, "login": client_id, "password": secret}
        ),
        "AIRFLOW_CONN_GENESYS_ERASURE_HMAC": json.dumps({"conn_type": "generic", "password": DEMO_HMAC_KEY}),
        "AIRFLOW_CONN_GENESYS_ERASURE_SEALING": json.dumps(
            {"conn_type": "generic", "password": DEMO_SEALING_KEY}
        ),
        "AIRFLOW_CONN_GENESYS_ERASURE_SIGNING": json.dumps(
            {"conn_type": "generic", "password": DEMO_SIGNING_KEY}
        ),
    }


def migrate_airflow_db() -> None:
    from airflow.utils.db import resetdb

    resetdb(skip_init=False)


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    if dagbag.import_errors:
        raise RuntimeError(f"DAG import errors: {sorted(dagbag.import_errors)}")
    return dagbag.get_dag(dag_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=str(REPO_ROOT / "var" / "demo"), help="demo working directory")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=20000)
    parser.add_argument("--rate-limit", type=int, default=3000, help="sandbox requests per token per minute")
    parser.add_argument("--dry-run", action="store_true", help="plan and report, submit nothing")
    parser.add_argument(
        "--profile", default="pessimistic", help="sandbox profile: pessimistic (default) or faithful"
    )
    parser.add_argument(
        "--data-shapes",
        choices=("clean", "real", "none"),
        default=DEMO_DATA_SHAPES,
        help=f"override of the profile's data shapes (default {DEMO_DATA_SHAPES}; the profile's own: none)",
    )
    args = parser.parse_args(argv)

    from genesys_devtools import demo_warehouses as wh
    from genesys_devtools.local_engines import LocalBigQueryEmulator, LocalFakesnow
    from genesys_erasure.evidence import key_from_text
    from genesys_erasure.hashing import KeyedHasher
    from genesys_sandbox import SandboxServer, SandboxSettings

    home = Path(args.home).resolve()
    shutil.rmtree(home, ignore_errors=True)
    (home / "airflow").mkdir(parents=True)
    overrides = {} if args.data_shapes == "none" else {"data_shapes": args.data_shapes}
    settings = SandboxSettings.for_profile(
        args.profile,
        customers=args.customers,
        conversations=args.conversations,
        rate_limit_per_window=args.rate_limit,
        gdpr_step_seconds=0.5,
        **overrides,
    )
    print(
        f"Seeding the Genesys Cloud sandbox: {args.customers} customers, {args.conversations} conversations;"
        f" profile {args.profile}, data_shapes={settings.data_shapes}" + (" (override)" if overrides else "")
    )
    with ExitStack() as stack:
        sandbox = stack.enter_context(SandboxServer(settings))
        print("Starting the local warehouses: fakesnow (Snowflake) and bqemulator (BigQuery)")
        fakesnow = stack.enter_context(LocalFakesnow())
        bigquery = stack.enter_context(LocalBigQueryEmulator())
        rows = wh.sandbox_event_rows(sandbox.org, KeyedHasher(key_from_text(DEMO_HMAC_KEY)))
        wh.seed_warehouses(fakesnow, bigquery, rows)
        mapping = wh.write_mapping(home / "warehouse_mapping.yaml")
        before = _warehouse_counts(fakesnow, bigquery)
        print(f"Seeded {len(rows)} streamed conversation events into each warehouse; mapping {mapping}")
        summary = sandbox.org.summary()
        config_path = home / "purge.yaml"
        config = demo_config(summary, home, warehouse_mapping_path=str(mapping))
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        env = airflow_environment(
            home, sandbox.base_url, sandbox.client_id, sandbox.client_secret, config_path
        )
        os.environ.update({**env, **wh.warehouse_connections_env(fakesnow, bigquery)})
        print(f"Sandbox at {sandbox.base_url}; Airflow home {env['AIRFLOW_HOME']}")
        migrate_airflow_db()
        from genesys_erasure.tasks.policy import WAREHOUSE_POOL

        wh.ensure_warehouse_pool(WAREHOUSE_POOL)
        dag = load_dag(DAG_ID)
        print(
            "The first run that submits to an org waits for a person's approval (Browse -> Required "
            "Actions in the UI); the demo approves the plan as that person would."
        )
        with answer_approval(APPROVE, dag_id=DAG_ID) as answered:
            run = dag.test(run_conf={"backfill": True, "dry_run": args.dry_run or None})
        if answered["count"]:
            print("Plan approved by the demo (first contact with this org).")
        state = str(getattr(run, "state", "unknown"))
        after = _warehouse_counts(fakesnow, bigquery)
        print("\nWarehouse rows before -> after the run:")
        for table, count in before.items():
            print(f"  {table:<55} {count} -> {after[table]}")
        reports = sorted((home / "reports").glob("*.json"))
        print(f"\nDAG run {run.run_id}: {state}")
        if reports:
            report = json.loads(reports[-1].read_text(encoding="utf-8"))
            counts = report["counts"]
            print("Subjects per final state:")
            for name in FINAL_STATES:
                print(f"  {name:<16} {counts.get(name, 0):>6}")
            print("  (erasure_pending: Genesys has scheduled the delete; a later night verifies it)")
            for reason, count in report.get("needs_review_reasons", {}).items():
                print(f"  (needs_review, {reason}: {count})")
            print(f"Warehouse step: {report['warehouse']['status']}")
            for table in report["warehouse"]["tables"]:
                print(
                    f"  {table['system']:<10} {table['table']:<50} rows affected {table['rows_affected']:>6},"
                    f" unrecoverable after {table['unrecoverable_after'][:10]}"
                )
            print(f"Signed report: {reports[-1]}\nReadable report: {reports[-1].with_suffix('.html')}")
            print(
                "Verify its signature: python -m genesys_erasure.evidence verify "
                f"{reports[-1]} --public-key {reports[-1].parent / 'signing-public-key.pem'}"
            )
        _print_sandbox_check(sandbox.org, config["retention_days"])
        return 0 if state.endswith("success") else 1


def _print_sandbox_check(org, retention_days: int) -> None:
    """Counts, from the sandbox's own data, of expired customers whose values are gone from every
    conversation and of recent ones whose values are still there (customers within two days of the
    cutoff, with an active conversation, or sharing a placeholder value are left out)."""
    from datetime import timedelta

    cutoff = org.clock.now() - timedelta(days=retention_days)
    margin = timedelta(days=2)
    tally = {"expired_erased": 0, "expired_still_held": 0, "recent_kept": 0, "recent_erased_wrongly": 0}
    for customer in org.customers_where(placeholder=False, has_active_conversation=False):
        last = org.last_contact(customer)
        if last is None or abs(last - cutoff) < margin:
            continue
        held = _still_held(org, customer)
        if last < cutoff:
            tally["expired_still_held" if held else "expired_erased"] += 1
        else:
            tally["recent_kept" if held else "recent_erased_wrongly"] += 1
    print("Sandbox check (customers, from the sandbox's own data):")
    for name, count in tally.items():
        print(f"  {name:<22} {count:>6}")


def _still_held(org, customer) -> bool:
    """Whether an address field of the customer's conversations still names one of its values in any
    written form: with real data shapes a number is also stored as `sip:`/national and an address inside
    a header with display names, which an exact look-up by the value would miss. (Flow attributes are
    left out: the GDPR API is not expected to erase them; the reports disclose it.)"""
    from genesys_erasure.identifier_matching import IdentifierMatcher
    from genesys_erasure.identifiers import Identifier, IdentifierKind

    matcher = IdentifierMatcher(
        [Identifier(IdentifierKind.EMAIL, e.lower()) for e in customer.emails]
        + [Identifier(IdentifierKind.PHONE, p) for p in customer.phones]
    )
    return any(
        matcher.matches(value)
        for conversation in org.conversations_of(customer)
        for participant in conversation.participants
        for session in participant.sessions
        for value in session.address_values()
    )


def _warehouse_counts(fakesnow, bigquery) -> dict[str, int]:
    from genesys_devtools import demo_warehouses as wh

    return {
        f"Snowflake {wh.SF_DATABASE}.{wh.SF_SCHEMA}.{wh.TABLE}": len(wh.snowflake_rows(fakesnow)),
        f"BigQuery {wh.BQ_DATASET}.{wh.TABLE} (hashes only)": len(wh.bigquery_rows(bigquery)),
    }


if __name__ == "__main__":
    sys.exit(main())
