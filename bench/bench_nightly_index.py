"""Nightly scan cost vs history length: a night after the last-contact index's backfill, on orgs with 1 and
5 years of history at the same daily volume.

For each history length: a steady-history sandbox org (`SandboxSettings(history="steady")`, the same
conversations per day in every year), one `find_expired_customers` that builds the last-contact index (the
backfill: one analytics job over the whole retention window, which is what EVERY night read before the
index existed), then the clock moves one day on, one day's volume of new conversations lands, and the next
night's `find_expired_customers` runs. API calls (per endpoint, token requests apart), result pages
(analytics job result pages + detail-query pages), conversations read and wall time are taken from the
sandbox's request counter and the step's own counts, for the backfill and the night; the last table gives
the ratio of the longest history's night to the shortest's (target: flat, ratio ~1).

    PYTHONPATH=include .venv/bin/python bench/bench_nightly_index.py            # 1 and 5 years, 100/day
    PYTHONPATH=include .venv/bin/python bench/bench_nightly_index.py --years 1,2 --per-day 20   # smoke

Retention is the project default (1,826 days), so a 5-year org holds no expired customer yet: the night's
cost is the index's fold and the candidate scan of the newly expired day, nothing else. Only counts and
endpoint templates are printed. The sandbox runs in this process; its own work is part of the wall time
(its analytics job walks every stored conversation, unlike a real data lake: see the notes printed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, markdown_table

from genesys_devtools.demo import DEMO_HMAC_KEY, DEMO_SEALING_KEY, demo_config
from genesys_erasure.config import PurgeConfig
from genesys_erasure.evidence import key_from_text
from genesys_erasure.steps.runtime import ErasureRuntime, sqlite_ledger_url
from genesys_erasure.steps.scan import WATERMARK_MARKER, find_expired_customers
from genesys_erasure.tasks.runtime import genesys_hook
from genesys_sandbox import SandboxServer, SandboxSettings

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"
TOKEN_ENDPOINT = "POST /oauth/token"
PAGE_ENDPOINTS = (
    "GET /api/v2/analytics/conversations/details/jobs/{jobId}/results",
    "POST /api/v2/analytics/conversations/details/query",
)


def _sandbox(years: int, per_day: int, callers: int) -> SandboxServer:
    settings = SandboxSettings(
        seed=11,
        history="steady",
        years=years,
        conversations_per_day=per_day,
        customers_per_year=callers,
        customers=callers,
        conversations=max(callers, per_day * 365 * years),
        rate_limit_per_window=1_000_000,
        job_fulfil_seconds=0,
    )
    return SandboxServer(settings).start()


def _runtime(sandbox: SandboxServer, home: Path, retention_days: int) -> ErasureRuntime:
    connection = {
        "conn_type": "genesys_cloud",
        "host": sandbox.base_url,
        "login": sandbox.client_id,
        "password": sandbox.client_secret,
        "extra": {"max_attempts": 5, "base_backoff_seconds": 0.05, "max_wait_seconds": 5},
    }
    os.environ[CONN_ENV] = json.dumps(connection)
    config = PurgeConfig.from_dict(demo_config(sandbox.org.summary(), home, retention_days=retention_days))
    return ErasureRuntime(
        config=config,
        hmac_key=key_from_text(DEMO_HMAC_KEY),
        sealing_key=key_from_text(DEMO_SEALING_KEY),
        ledger_url=sqlite_ledger_url(config, home),
        client_factory=genesys_hook,
        home=home,
    )


class JobWalkTimer:
    """Time the sandbox spends selecting an analytics job's conversations. It walks every stored
    conversation (a real data lake answers from partitions), so it grows with the history whatever the
    client asks: reported apart, and taken out of the pipeline's own wall time."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.seconds = 0.0
        jobs = sandbox.state.jobs
        original = jobs._fulfil

        def timed(job) -> None:
            started = time.perf_counter()
            try:
                original(job)
            finally:
                self.seconds += time.perf_counter() - started

        jobs._fulfil = timed  # type: ignore[method-assign]


def _measured(
    sandbox: SandboxServer, runtime: ErasureRuntime, run_id: str, walk: JobWalkTimer
) -> dict[str, Any]:
    sandbox.control.reset_request_counts()
    walk.seconds = 0.0
    started = time.perf_counter()
    counts = find_expired_customers(runtime, run_id, sandbox.org.clock.now())
    wall = time.perf_counter() - started
    by_endpoint = dict(sandbox.control.request_counts()["by_endpoint"])
    by_endpoint.pop(TOKEN_ENDPOINT, None)
    return {
        "calls": sum(by_endpoint.values()),
        "pages": sum(by_endpoint.get(e, 0) for e in PAGE_ENDPOINTS),
        "by_endpoint": by_endpoint,
        "conversations_read": counts["conversations_read"],
        "index_entries": counts["last_contact_index"]["entries"],
        "rebuilt": counts["last_contact_index"]["rebuilt"],
        "wall_s": wall,
        "sandbox_walk_s": walk.seconds,
        "pipeline_s": wall - walk.seconds,
        "cutoff": counts["cutoff"],
    }


def _new_day(sandbox: SandboxServer, per_day: int, rng: random.Random) -> None:
    """One day passes and a day's volume of conversations lands, from callers the org already has."""
    org = sandbox.org
    sandbox.control.advance_clock(timedelta(days=1).total_seconds())
    now = org.clock.now()
    people = sorted(org.customers.values(), key=lambda c: c.id)
    for _ in range(per_day):
        person = rng.choice(people)
        media = "email" if person.emails and (not person.phones or rng.random() < 0.3) else "voice"
        org.add_conversation(person, media=media, start=now - timedelta(hours=rng.uniform(1, 24)))


def measure(years: int, per_day: int, callers: int, retention_days: int) -> dict[str, Any]:
    seeding = time.perf_counter()
    sandbox = _sandbox(years, per_day, callers)
    seeded = time.perf_counter() - seeding
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-index-") as home,
            _runtime(sandbox, Path(home), retention_days) as runtime,
        ):
            walk = JobWalkTimer(sandbox)
            backfill = _measured(sandbox, runtime, "backfill", walk)
            # what the evidence step does after a real run: the next candidate scan starts at this cutoff
            runtime.workspace().set_marker(WATERMARK_MARKER, backfill["cutoff"])
            _new_day(sandbox, per_day, random.Random(years))
            night = _measured(sandbox, runtime, "night", walk)
    finally:
        sandbox.stop()
    return {
        "years": years,
        "conversations": len(sandbox.org.conversations),
        "seed_s": seeded,
        "backfill": backfill,
        "night": night,
    }


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def report(results: list[dict[str, Any]], per_day: int, retention_days: int) -> str:
    rows = []
    for r in results:
        for label in ("backfill", "night"):
            m = r[label]
            rows.append(
                [
                    f"{r['years']} y",
                    r["conversations"],
                    label if label == "night" else "backfill (= every night before the index)",
                    m["calls"],
                    m["pages"],
                    m["conversations_read"],
                    m["index_entries"],
                    round(m["wall_s"], 2),
                    round(m["sandbox_walk_s"], 2),
                    round(m["pipeline_s"], 2),
                ]
            )
    table = markdown_table(
        [
            "history",
            "conversations in org",
            "run",
            "API calls",
            "result pages",
            "conversations read",
            "index entries",
            "wall s",
            "of which sandbox job walk s",
            "pipeline s",
        ],
        rows,
    )
    short, long_ = results[0], results[-1]
    ratios = markdown_table(
        [
            "longest / shortest history",
            "API calls",
            "result pages",
            "conversations read",
            "wall time",
            "pipeline time",
        ],
        [
            [
                f"night, {long_['years']} y / {short['years']} y",
                _ratio(long_["night"]["calls"], short["night"]["calls"]),
                _ratio(long_["night"]["pages"], short["night"]["pages"]),
                _ratio(long_["night"]["conversations_read"], short["night"]["conversations_read"]),
                _ratio(long_["night"]["wall_s"], short["night"]["wall_s"]),
                _ratio(long_["night"]["pipeline_s"], short["night"]["pipeline_s"]),
            ],
            [
                f"backfill, {long_['years']} y / {short['years']} y (for contrast)",
                _ratio(long_["backfill"]["calls"], short["backfill"]["calls"]),
                _ratio(long_["backfill"]["pages"], short["backfill"]["pages"]),
                _ratio(long_["backfill"]["conversations_read"], short["backfill"]["conversations_read"]),
                _ratio(long_["backfill"]["wall_s"], short["backfill"]["wall_s"]),
                _ratio(long_["backfill"]["pipeline_s"], short["backfill"]["pipeline_s"]),
            ],
        ],
    )
    endpoints = sorted({e for r in results for e in r["night"]["by_endpoint"]})
    per_endpoint = markdown_table(
        ["endpoint (night)", *(f"{r['years']} y" for r in results)],
        [[f"`{e}`", *(r["night"]["by_endpoint"].get(e, 0) for r in results)] for e in endpoints],
    )
    return "\n\n".join(
        [
            machine_line(),
            f"Steady history, {per_day} conversations/day, retention {retention_days} days; the night "
            "follows the backfill by one day.",
            table,
            ratios,
            per_endpoint,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="1,5", help="history lengths to compare (comma-separated)")
    parser.add_argument("--per-day", type=int, default=100, help="conversations per day in every year")
    parser.add_argument("--callers", type=int, default=3000, help="distinct callers at any one time")
    parser.add_argument("--retention-days", type=int, default=1826)
    parser.add_argument("--output", help="also write the tables to this file")
    args = parser.parse_args(argv)
    sizes = sorted(int(y) for y in args.years.split(","))
    measure(1, 5, 50, args.retention_days)  # warm-up (imports, phone metadata), not reported
    results = [measure(y, args.per_day, args.callers, args.retention_days) for y in sizes]
    text = report(results, args.per_day, args.retention_days)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
