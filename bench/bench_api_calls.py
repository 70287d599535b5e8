"""API calls per erased subject: one nightly retention purge on the sandbox's default org.

Runs `genesys_retention_purge` through `dag.test()` exactly like `python -m genesys_devtools.demo` (same
config, same Airflow environment, functions reused from `genesys_devtools.demo`), but keeps the sandbox
running afterwards to read its per-endpoint request counters, and divides the calls by the number of
subjects the run verified as erased. Calls are also attributed to the DAG task that was running when the
sandbox served them (tasks run one at a time under `dag.test()`; a deferred sensor's trigger runs in line
and is counted under its sensor).

    PYTHONPATH=include .venv/bin/python bench/bench_api_calls.py            # 2,000 / 20,000
    PYTHONPATH=include .venv/bin/python bench/bench_api_calls.py --customers 200 --conversations 2000

Target (issue): <= 3 API calls per erased subject. Only counts and endpoint templates are printed.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, markdown_table

from genesys_devtools.approvals import APPROVE, answer_approval
from genesys_devtools.demo import (
    DAG_ID,
    airflow_environment,
    demo_config,
    load_dag,
    migrate_airflow_db,
)
from genesys_sandbox import SandboxServer, SandboxSettings

TARGET_CALLS_PER_SUBJECT = 3.0
TOKEN_ENDPOINT = "POST /oauth/token"


class CallLog:
    """Wraps the sandbox's request counter to also keep (wall time, endpoint, status) of every call."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.calls: list[tuple[float, str, int]] = []
        self._lock = threading.Lock()
        counter = sandbox.state.counter
        original = counter.record

        def record(endpoint: str, token_id: str | None, status: int) -> None:
            original(endpoint, token_id, status)
            with self._lock:
                self.calls.append((time.time(), endpoint, status))

        counter.record = record  # type: ignore[method-assign]


def task_intervals(run_id: str) -> list[tuple[float, str]]:
    """(start time, task id) of every task instance of the run, in start order."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(TaskInstance.task_id, TaskInstance.start_date)
            .filter(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id)
            .all()
        )
    return sorted((start.timestamp(), task_id) for task_id, start in rows if isinstance(start, datetime))


def attribute_to_tasks(calls: list[tuple[float, str, int]], starts: list[tuple[float, str]]) -> Counter:
    """Calls per (task, endpoint): each call goes to the task that started last before it."""
    times = [start for start, _ in starts]
    per_task: Counter[tuple[str, str]] = Counter()
    for moment, endpoint, _status in calls:
        position = bisect.bisect_right(times, moment) - 1
        task_id = starts[position][1] if position >= 0 else "(before the first task)"
        per_task[(task_id, endpoint)] += 1
    return per_task


def run_purge(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    settings = SandboxSettings(
        customers=args.customers,
        conversations=args.conversations,
        history=args.history,
        rate_limit_per_window=args.rate_limit,
        gdpr_step_seconds=0.5,
    )
    with SandboxServer(settings) as sandbox:
        log = CallLog(sandbox)
        summary = sandbox.org.summary()
        config_path = home / "purge.yaml"
        config_path.write_text(yaml.safe_dump(demo_config(summary, home)), encoding="utf-8")
        env = airflow_environment(
            home, sandbox.base_url, sandbox.client_id, sandbox.client_secret, config_path
        )
        os.environ.update(env)
        migrate_airflow_db()
        dag = load_dag(DAG_ID)
        started = time.monotonic()
        with answer_approval(APPROVE, dag_id=DAG_ID):  # first contact: the plan waits for a person
            run = dag.test(run_conf={"backfill": True})
        elapsed = time.monotonic() - started
        counts = sandbox.control.request_counts()
        calls = list(log.calls)
    reports = sorted((home / "reports").glob("*.json"))
    report = json.loads(reports[-1].read_text(encoding="utf-8")) if reports else {}
    return {
        "state": str(getattr(run, "state", "unknown")),
        "run_id": run.run_id,
        "elapsed": elapsed,
        "counts": counts,
        "calls": calls,
        "report": report,
        "starts": task_intervals(run.run_id),
    }


def render(args: argparse.Namespace, result: dict[str, Any]) -> str:
    counts, report = result["counts"], result["report"]
    verified = int(report.get("counts", {}).get("verified", 0))
    plan = report.get("parameters", {}).get("plan", {})
    by_endpoint: dict[str, int] = counts["by_endpoint"]
    api_total = sum(n for endpoint, n in by_endpoint.items() if endpoint != TOKEN_ENDPOINT)
    per = (lambda n: n / verified) if verified else (lambda n: float("nan"))
    verdict = "met" if per(api_total) <= TARGET_CALLS_PER_SUBJECT else "MISSED"
    org = f"{args.customers:,} customers / {args.conversations:,} conversations, {args.history} history"
    out = [
        f"## API calls per erased subject ({org})",
        "",
        machine_line(),
        "",
        f"DAG run: {result['state']} in {result['elapsed']:.0f} s "
        f"(sandbox limit {args.rate_limit}/min/token); "
        f"verified subjects: {verified:,}; planned: {plan.get('subjects_planned', '?')}; "
        f"identity lookups: {plan.get('identity_lookups', '?')}; "
        f"conversations read: {plan.get('scan', {}).get('conversations_read', '?')}",
        "",
        f"**API calls: {api_total:,} = {per(api_total):.2f} per verified subject** "
        f"(target <= {TARGET_CALLS_PER_SUBJECT:g}; {verdict}); "
        f"plus {by_endpoint.get(TOKEN_ENDPOINT, 0)} token request(s).",
        "",
        "### Per endpoint",
        "",
    ]
    rows = sorted(((e, n) for e, n in by_endpoint.items() if e != TOKEN_ENDPOINT), key=lambda item: -item[1])
    out.append(
        markdown_table(
            ["endpoint", "calls", "calls / subject", "share"],
            [[f"`{e}`", n, per(n), f"{100 * n / max(api_total, 1):.1f}%"] for e, n in rows]
            + [["**total (API, without token)**", api_total, per(api_total), "100.0%"]],
        )
    )
    per_task = attribute_to_tasks(result["calls"], result["starts"])
    task_totals: dict[str, int] = defaultdict(int)
    for (task_id, endpoint), n in per_task.items():
        if endpoint != TOKEN_ENDPOINT:
            task_totals[task_id] += n
    out += ["", "### Per DAG task (calls served while the task ran)", ""]
    task_rows = []
    for task_id, n in sorted(task_totals.items(), key=lambda item: -item[1]):
        endpoints = sorted(
            ((e, c) for (t, e), c in per_task.items() if t == task_id and e != TOKEN_ENDPOINT),
            key=lambda item: -item[1],
        )
        detail = "; ".join(f"`{e}` {c:,}" for e, c in endpoints)
        task_rows.append([task_id, n, per(n), detail])
    out.append(markdown_table(["task", "calls", "calls / subject", "endpoints"], task_rows))
    statuses = ", ".join(f"{status}: {n:,}" for status, n in counts["by_status"].items())
    out += ["", f"HTTP statuses (token requests included): {statuses}"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=SandboxSettings.customers)
    parser.add_argument("--conversations", type=int, default=SandboxSettings.conversations)
    parser.add_argument(
        "--history",
        choices=("steady", "legacy"),
        default="steady",
        help="sandbox seed: steady = the same conversations per day in every year, no active burst "
        "(default, so sizes compare at one daily volume); legacy = the demo's seed",
    )
    parser.add_argument(
        "--rate-limit", type=int, default=3000, help="sandbox requests per token per minute (as the demo)"
    )
    parser.add_argument("--home", help="working directory (default: a temporary one, removed afterwards)")
    parser.add_argument("--output", help="also write the markdown tables to this file")
    parser.add_argument("--json", help="also write the raw counters to this file")
    args = parser.parse_args(argv)

    home = Path(args.home or tempfile.mkdtemp(prefix="bench-api-calls-")).resolve()
    shutil.rmtree(home, ignore_errors=True)
    (home / "airflow").mkdir(parents=True)
    try:
        result = run_purge(args, home)
    finally:
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)
    if args.json:
        raw = {k: result[k] for k in ("state", "elapsed", "counts")}
        raw["report_counts"] = result["report"].get("counts")
        Path(args.json).write_text(json.dumps(raw, indent=2), encoding="utf-8")
    text = render(args, result)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 0 if result["state"].endswith("success") else 1


if __name__ == "__main__":
    sys.exit(main())
