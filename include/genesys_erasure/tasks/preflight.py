"""The preflight as an Airflow task: the connection, the signing key and the report directory come from
the purge configuration (the same `genesys_conn_id`, `hmac_key_conn_id` and `report_dir` as the runs);
the work is `genesys_erasure.preflight`'s."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import get_current_context, task

from genesys_erasure.tasks.runtime import connection_secret

if TYPE_CHECKING:
    from genesys_erasure.preflight import CanaryOptions

log = logging.getLogger(__name__)


def _canary(params: dict[str, Any], try_number: int) -> CanaryOptions | None:
    from genesys_erasure.preflight import CanaryOptions

    if not params.get("canary_erasure"):
        return None
    if try_number > 1:
        # An earlier try may already have sent the canary's GDPR_DELETE: never send it twice.
        raise AirflowFailException(
            "the canary erasure is never repeated by a retry; check the earlier try's log, then start a "
            "new run if the contact still exists"
        )
    contact_id = params.get("canary_contact_id")
    if not contact_id:
        raise AirflowFailException("param 'canary_contact_id': required when canary_erasure is true")
    return CanaryOptions(str(contact_id), timeout_seconds=float(params.get("canary_timeout_seconds") or 900))


# The read-only probes are retried (the DAG's policy); a retry of a canary run refuses (see `_canary`).
@task
def run_org_preflight() -> dict[str, Any]:
    """Probe the org, write the signed report under `report_dir/preflight/`, log a readable summary, and
    fail (after writing the report) when a permission is missing and `fail_on_missing_permissions`."""
    from genesys_cloud.hook import GenesysCloudHook
    from genesys_erasure.config import ConfigError
    from genesys_erasure.preflight import run_preflight, summary_lines
    from genesys_erasure.steps.runtime import load_run_config, project_home

    context = get_current_context()
    params = dict(context["params"])
    try:
        config = load_run_config(
            {k: v for k, v in params.items() if not k.startswith(("canary_", "fail_", "probe_"))}
        )
        key = connection_secret(config.hmac_key_conn_id, "hmac_key_conn_id")
        settings = GenesysCloudHook(genesys_conn_id=config.genesys_conn_id).settings
    except (ConfigError, ValueError) as bad:
        raise AirflowFailException(str(bad)) from None
    report_dir = Path(config.report_dir)
    out_dir = (report_dir if report_dir.is_absolute() else project_home() / report_dir) / "preflight"
    report, path = run_preflight(
        settings,
        key,
        out_dir,
        canary=_canary(params, context["ti"].try_number),
        probe_writes=bool(params.get("probe_write_permissions")),
    )
    for line in summary_lines(report):
        log.info("%s", line)
    missing = report["facts"]["missing_permissions"]
    if missing and params.get("fail_on_missing_permissions", True):
        named = "; ".join(f"{m['endpoint']} ({', '.join(m['permissions']) or 'not named'})" for m in missing)
        raise AirflowFailException(f"the OAuth client lacks permissions for: {named}. Report: {path}")
    return {
        "report": str(path),
        "mode": report["mode"],
        "missing_permissions": len(missing),
        "signature_key_id": report["signature_key_id"],
    }
