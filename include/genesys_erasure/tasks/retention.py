"""The nightly purge's own first steps: validate the settings, scan for expired customers, plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import get_current_context, task

from genesys_cloud.errors import GenesysAuthError
from genesys_erasure.config import ConfigError
from genesys_erasure.guards import GuardError, check_purge_fraction
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectSource
from genesys_erasure.preflight.retention import check_analytics_retention
from genesys_erasure.steps import scan
from genesys_erasure.steps.plan import HashedMembership, PlanRequest, Seed, plan_erasure
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.tasks.runtime import load_runtime, run_step

RETRIES = {"retries": 2, "retry_delay": timedelta(minutes=1)}


@task(**RETRIES)
def validate_settings() -> dict[str, Any]:
    """Fails first, naming the setting and the reason, before any conversation or contact is read from
    or anything sent to Genesys. A bad setting fails without retries (it does not fix itself), and so
    does an org whose analytics data retention is shorter than `retention_days` or a client that may not
    read it; a passing ledger or Genesys outage is retried."""
    context = get_current_context()
    try:
        runtime = load_runtime(context["params"])
    except (ConfigError, GuardError) as bad:
        raise AirflowFailException(str(bad)) from None
    with runtime:
        config = runtime.config
        try:
            analytics_days = check_analytics_retention(runtime.client, config.retention_days)
        except (ConfigError, GenesysAuthError) as bad:
            raise AirflowFailException(str(bad)) from None
        carried = len(runtime.ledger.carried_over())
    return {
        "retention_days": config.retention_days,
        "analytics_data_retention_days": analytics_days,
        "cutoff": config.retention_cutoff(datetime.now(UTC)).isoformat(),
        "dry_run": config.dry_run,
        "backfill": config.backfill,
        "max_subjects_per_run": config.max_subjects_per_run,
        "carried_over_from_earlier_runs": carried,
    }


@task(**RETRIES)
def find_expired_customers(settings: dict[str, Any]) -> dict[str, Any]:
    return run_step(scan.find_expired_customers)


def _seeds(entries: list[dict[str, Any]], stalled: bool) -> list[Seed]:
    return [
        Seed(
            Identifier(IdentifierKind(entry["kind"]), entry["value"]),
            conversation_ids=tuple(entry["conversation_ids"]),
            conversation_count=entry["conversation_count"],
            stalled=stalled,
        )
        for entry in entries
    ]


@task(**RETRIES)
def plan_retention_purge(scan_counts: dict[str, Any]) -> dict[str, Any]:
    return run_step(plan_from_scan, scan_counts=scan_counts)


def plan_from_scan(
    runtime: ErasureRuntime, run_id: str, now: datetime, *, scan_counts: dict[str, Any]
) -> dict[str, Any]:
    """Plan the customers the scan found expired (and those whose last conversation is still active),
    once the purge fraction allows it."""
    found = scan.load_scan(runtime, run_id)
    request = PlanRequest(
        seeds=_seeds(found["expired"], stalled=False) + _seeds(found["stalled"], stalled=True),
        source=SubjectSource.RETENTION,
        recent=HashedMembership(found["recent_hashes"], runtime.hasher),
        carry_over=True,
        extra={"scan": {k: v for k, v in scan_counts.items() if k != "unreadable_values"}},
    )
    check_purge_fraction(
        len(found["expired"]), max(found["customers_seen"], 1), runtime.config.max_purge_fraction
    )
    return plan_erasure(runtime, run_id, request, now)
