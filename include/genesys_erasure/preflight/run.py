"""`run_preflight`: the checks, the optional canary and the signed report, for the task and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genesys_cloud.client_settings import ClientSettings
from genesys_erasure.preflight.canary import CanaryOptions, run_canary
from genesys_erasure.preflight.checks import build_report, observed, run_checks, write_report
from genesys_erasure.preflight.probe import HttpProbe


def run_preflight(
    settings: ClientSettings,
    key: bytes,
    out_dir: str | Path,
    *,
    canary: CanaryOptions | None = None,
    probe_writes: bool = False,
    now: datetime | None = None,
) -> tuple[dict[str, Any], Path]:
    """Probe the org (its write endpoints only with `probe_writes`, and erase the canary contact only
    when `canary` is given); write the signed report into `out_dir` and return it with its path."""
    now = now or datetime.now(UTC)
    with HttpProbe(settings) as probe:
        facts = run_checks(probe, now, probe_writes=probe_writes)
        canary_result = run_canary(probe, canary, now) if canary is not None else None
        if canary_result is not None:
            # the canary's own calls (and any permission they lacked) belong in the facts too
            facts = {**facts, **observed(probe)}
    report = build_report(facts, key, api_url=settings.api_url, canary=canary_result, generated_at=now)
    return report, write_report(report, out_dir)
