"""The nightly purge's own first tasks: validate the settings, scan for expired customers, plan.

The steps, the ledger and the runtime are imported inside the tasks: a DAG file must parse fast."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import get_current_context, task

from genesys_erasure.tasks.runtime import (
    load_runtime,
    plans_only_when_late,
    proposed_as_of,
    run_clock,
    run_step,
)

log = logging.getLogger(__name__)


@task
def validate_settings() -> dict[str, Any]:
    """Fails first, naming the setting and the reason, before any conversation or contact is read from
    or anything sent to Genesys. A bad setting fails without retries (it does not fix itself), and so
    does an org whose analytics data retention is shorter than `retention_days`, a client whose role does
    not cover every division (unless `allow_partial_divisions`) or a client that may not read either; a
    passing ledger or Genesys outage is retried. It also fixes the run's clock (as_of and cutoff) in the
    ledger, refusing an `as_of` in the future and an explicit past one unless dry run or
    `allow_past_as_of_erasure`; a scheduled night started over 6 h late only plans (a dry run), and says
    so."""
    from genesys_cloud.errors import GenesysAuthError
    from genesys_erasure.config import ConfigError
    from genesys_erasure.guards import GuardError
    from genesys_erasure.preflight.divisions import check_division_coverage
    from genesys_erasure.preflight.retention import check_analytics_retention
    from genesys_erasure.steps.runtime import AsOfRefused, check_as_of, starts_too_late

    context = get_current_context()
    try:
        runtime = load_runtime(context["params"])
    except (ConfigError, GuardError) as bad:
        raise AirflowFailException(str(bad)) from None
    with runtime:
        config = runtime.config
        try:
            as_of, explicit = proposed_as_of(context)
            started = context["dag_run"].run_after or as_of
            check_as_of(as_of, explicit=explicit, started=started, wall_now=datetime.now(UTC), config=config)
        except AsOfRefused as bad:
            raise AirflowFailException(str(bad)) from None
        clock = run_clock(runtime, context)
        log.info("Run clock: %s", clock.describe())
        late = plans_only_when_late(runtime, context)
        config = runtime.config
        if not (late or explicit) and starts_too_late(clock.as_of, datetime.now(UTC), config):
            # fixed on time by an earlier try, and run again (cleared) long after: the clock says erase,
            # but contacts made since its as_of are not seen; a new run has its own instant
            raise AirflowFailException(
                f"as_of: {clock.as_of.isoformat()}, the run's own instant, is over 6 h ago and this run is "
                "being run again (cleared); only a new run may erase: trigger one"
            )
        try:
            analytics_days = check_analytics_retention(runtime.client, config.retention_days)
            divisions = check_division_coverage(
                runtime.client, allow_partial=config.allow_partial_divisions
            ).as_dict()
        except (ConfigError, GenesysAuthError) as bad:
            raise AirflowFailException(str(bad)) from None
        carried = len(runtime.ledger.carried_over())
        retried = len(runtime.ledger.failed_awaiting_retry())
    return {
        "retention_days": config.retention_days,
        "analytics_data_retention_days": analytics_days,
        # counts only: division names are the org's, but XCom is kept free of anything named
        "divisions": {k: v for k, v in divisions.items() if k != "uncovered_names"},
        "as_of": clock.as_of.isoformat(),
        "cutoff": clock.cutoff.isoformat(),
        "dry_run": config.dry_run,
        "late_run_plans_only": late,
        "backfill": config.backfill,
        "max_subjects_per_run": config.max_subjects_per_run,
        "carried_over_from_earlier_runs": carried,
        # failed in an earlier run with attempts left: the plan tries them again (`steps.retry_failed`)
        "failed_awaiting_retry": retried,
    }


@task
def find_expired_customers(settings: dict[str, Any]) -> dict[str, Any]:
    from genesys_erasure.steps.scan import find_expired_customers as scan_for_expired

    return run_step(scan_for_expired)


@task
def plan_retention_purge(scan_counts: dict[str, Any]) -> dict[str, Any]:
    from genesys_erasure.steps.plan_requests import plan_retention_purge as plan

    return run_step(plan, scan_counts=scan_counts)
