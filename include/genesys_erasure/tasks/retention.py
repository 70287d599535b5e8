"""The nightly purge's own first steps: validate the settings, scan for expired customers, plan.

The steps, the ledger and the runtime are imported inside the tasks: a DAG file must parse fast."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import get_current_context, task

if TYPE_CHECKING:
    from genesys_erasure.steps.plan import Seed


@task
def validate_settings() -> dict[str, Any]:
    """Fails first, naming the setting and the reason, before anything is read from or sent to Genesys.
    A bad setting fails without retries (it does not fix itself); a passing ledger outage is retried."""
    from genesys_erasure.config import ConfigError
    from genesys_erasure.guards import GuardError
    from genesys_erasure.steps.runtime import load_runtime

    context = get_current_context()
    try:
        runtime = load_runtime(context["params"])
    except (ConfigError, GuardError) as bad:
        raise AirflowFailException(str(bad)) from None
    config = runtime.config
    with runtime.open_ledger() as ledger:
        carried = len(ledger.carried_over())
    return {
        "retention_days": config.retention_days,
        "cutoff": config.retention_cutoff(datetime.now(UTC)).isoformat(),
        "dry_run": config.dry_run,
        "backfill": config.backfill,
        "max_subjects_per_run": config.max_subjects_per_run,
        "carried_over_from_earlier_runs": carried,
    }


@task
def find_expired_customers(settings: dict[str, Any]) -> dict[str, Any]:
    from genesys_erasure.steps import scan
    from genesys_erasure.steps.runtime import load_runtime

    context = get_current_context()
    runtime = load_runtime(context["params"])
    return scan.find_expired_customers(runtime, context["run_id"], datetime.now(UTC))


def _seeds(entries: list[dict[str, Any]], stalled: bool) -> list[Seed]:
    from genesys_erasure.identifiers import Identifier, IdentifierKind
    from genesys_erasure.steps.plan import Seed

    return [
        Seed(
            Identifier(IdentifierKind(entry["kind"]), entry["value"]),
            conversation_ids=tuple(entry["conversation_ids"]),
            conversation_count=entry["conversation_count"],
            stalled=stalled,
        )
        for entry in entries
    ]


@task
def plan_retention_purge(scan_counts: dict[str, Any]) -> dict[str, Any]:
    from genesys_erasure.guards import check_purge_fraction
    from genesys_erasure.ledger import SubjectSource
    from genesys_erasure.steps import scan
    from genesys_erasure.steps.plan import HashedMembership, PlanRequest, plan_erasure
    from genesys_erasure.steps.runtime import load_runtime

    context = get_current_context()
    runtime = load_runtime(context["params"])
    found = scan.load_scan(runtime, context["run_id"])
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
    return plan_erasure(runtime, context["run_id"], request, datetime.now(UTC))
