"""Backfill throughput: the project's plan/submit/wait steps on a large backlog, K OAuth clients, against
the naive loop the usual guides describe.

The sandbox runs in its own process (`python -m genesys_sandbox`), so it does not share the client's GIL
and the client's pacing is what is measured. It keeps the REAL per-token limit (300 requests per 60 s
window) but runs its clock `--clock-rate` times faster (default 2): every window, Retry-After and GDPR
step is that much shorter in wall time, so the limit reads 300 per 30 wall seconds, 10 requests/s per
token. Faster clocks run a large backlog sooner, but one client process on a shared 2-core machine posts
only some 15 to 70 subjects/s at all (ledger writes, sealing, HTTP; see the capacity probe), so with 4
clients at 10x (200/s) the machine, not the limit, would be measured. The subjects are synthetic
`example.org` e-mail addresses with no data in the org: the steps and the requests are the real ones,
the sandbox's erasure work is nil.

Per K (`--clients 1,2,4`), on a fresh sandbox with K OAuth clients and a connection naming them
(`extra_clients`), the Airflow-free steps run in one process as the DAG's tasks would, one after the
other: `plan_erasure` (one contact scan, one users listing), `submit_batch` per batch of 100 (the submit
step round-robins subjects over the K clients, each paced by its own token's headers), the wait (the GDPR
trigger's `StatusPoll` every `poll_interval_seconds`) and `settle_requests`. The bound is the time the
per-token limit allows for the calls made: API calls / (K x per-token rate).

Then the naive loop, written plainly with `requests` as a guide would: for each subject, POST the GDPR
request, then sleep and GET it by id until it is COMPLETED (a 429 sleeps its Retry-After), against the
project's pipeline on the same subjects and the same sandbox settings.

    PYTHONPATH=include .venv/bin/python bench/bench_backfill.py                  # ~45 minutes
    PYTHONPATH=include .venv/bin/python bench/bench_backfill.py --subjects 5000  # ~25 minutes
    PYTHONPATH=include .venv/bin/python bench/bench_backfill.py --subjects 500 --naive-subjects 50

Targets (issue): 0 x 429; wall time close to the bound; the pipeline far cheaper than the naive loop.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, markdown_table

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"
GDPR_POST = "POST /api/v2/gdpr/requests"
TOKEN_ENDPOINT = "POST /oauth/token"
FINAL = ("COMPLETED", "ERROR")


class SandboxProcess:
    """`python -m genesys_sandbox` in a child process on a free port; its counters over /sandbox/."""

    def __init__(self, settings: dict[str, Any]) -> None:
        command = [sys.executable, "-m", "genesys_sandbox", "--port", "0"]
        for name, value in settings.items():
            command += ["--" + name.replace("_", "-"), str(value)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ.copy()
        )
        self.client_id = str(settings.get("client_id", "sandbox-client"))
        self.client_secret = str(settings.get("client_secret", "sandbox-secret"))
        self.base_url = ""
        for line in self._process.stdout:  # type: ignore[union-attr]
            if line.startswith("{"):
                self.base_url = json.loads(line)["baseUrl"]
                break
        if not self.base_url:
            self.stop()
            raise RuntimeError("the sandbox process did not start")
        # keep draining its stdout so it never blocks on a full pipe
        threading.Thread(target=self._process.stdout.read, daemon=True).start()  # type: ignore[union-attr]

    def counts(self) -> dict[str, Any]:
        return requests.get(f"{self.base_url}/sandbox/requests/counts", timeout=30).json()

    def reset_counts(self) -> None:
        requests.post(f"{self.base_url}/sandbox/requests/counts/reset", timeout=30).raise_for_status()

    def summary(self) -> dict[str, Any]:
        return requests.get(f"{self.base_url}/sandbox/org/summary", timeout=30).json()

    def cpu_seconds(self) -> float:
        """User + system CPU time the sandbox process has used (Linux /proc)."""
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


@contextmanager
def sandbox_process(args: argparse.Namespace, *, clients: int = 1, limit: int | None = None):
    settings = {
        "customers": 1,
        "conversations": 1,
        "rate_limit_per_window": limit or args.limit,
        "rate_limit_window_seconds": args.window_seconds,
        "clock_rate": args.clock_rate,
        "oauth_clients": clients,
        "gdpr_step_seconds": args.gdpr_step_seconds,
        "job_fulfil_seconds": 0,
    }
    sandbox = SandboxProcess(settings)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def subject_emails(count: int) -> list[str]:
    return [f"backfill.subject.{n}@example.org" for n in range(count)]


def per_token_rate(args: argparse.Namespace) -> float:
    """Requests per wall second one token may make: the limit over the window in wall seconds."""
    return args.limit / (args.window_seconds / args.clock_rate)


@contextmanager
def ledger_database(kind: str):
    """None (the runtime's SQLite file under its home) or the URL of a fresh PostgreSQL database on
    127.0.0.1:5432 (trust auth), dropped afterwards."""
    if kind == "sqlite":
        yield None
        return
    from sqlalchemy import create_engine, text

    name = f"bench_backfill_{os.getpid()}_{time.monotonic_ns()}"
    server = "postgresql+psycopg2://postgres@127.0.0.1:5432"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def run_pipeline(
    args: argparse.Namespace,
    sandbox: SandboxProcess,
    emails: list[str],
    clients: int,
    *,
    ledger_dir: str | None = None,
) -> dict:
    """plan -> submit (per batch) -> wait -> settle, Airflow-free, as the DAG's tasks run them. The
    SQLite ledger lives under `ledger_dir` (default `--ledger-dir`)."""
    with ledger_database(args.ledger) as ledger_url:
        home = Path(tempfile.mkdtemp(prefix="bench-backfill-", dir=ledger_dir or args.ledger_dir))
        try:
            return _run_pipeline(args, sandbox, emails, clients, ledger_url, home)
        finally:
            shutil.rmtree(home, ignore_errors=True)


def _run_pipeline(
    args: argparse.Namespace,
    sandbox: SandboxProcess,
    emails: list[str],
    clients: int,
    ledger_url: str | None,
    home: Path,
) -> dict:
    from genesys_cloud.gdpr_status import StatusPoll, all_final
    from genesys_cloud.retry_policy import reset_shared_pacers
    from genesys_cloud.token_cache import SHARED_TOKENS
    from genesys_devtools.demo import DEMO_HMAC_KEY, DEMO_SEALING_KEY, demo_config
    from genesys_erasure.config import PurgeConfig
    from genesys_erasure.evidence import key_from_text
    from genesys_erasure.identifiers import Identifier, IdentifierKind
    from genesys_erasure.ledger import SubjectSource
    from genesys_erasure.steps.plan import PlanRequest, Seed, plan_erasure
    from genesys_erasure.steps.runtime import ErasureRuntime, sqlite_ledger_url
    from genesys_erasure.steps.settle import settle_requests
    from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
    from genesys_erasure.tasks.runtime import extra_genesys_hooks, genesys_hook

    extra = [
        {"client_id": f"{sandbox.client_id}-{n}", "client_secret": f"{sandbox.client_secret}-{n}"}
        for n in range(2, clients + 1)
    ]
    os.environ[CONN_ENV] = json.dumps(
        {
            "conn_type": "genesys_cloud",
            "host": sandbox.base_url,
            "login": sandbox.client_id,
            "password": sandbox.client_secret,
            "extra": {"extra_clients": extra} if extra else {},
        }
    )
    SHARED_TOKENS.clear()  # log in and pace from scratch: tokens and pacers are process-wide by design
    reset_shared_pacers()
    config = PurgeConfig.from_dict(
        demo_config(
            sandbox.summary(),
            home,
            max_subjects_per_run=max(len(emails), 1),
            poll_interval_seconds=args.poll_interval,
        )
    )
    runtime = ErasureRuntime(
        config=config,
        hmac_key=key_from_text(DEMO_HMAC_KEY),
        sealing_key=key_from_text(DEMO_SEALING_KEY),
        ledger_url=sqlite_ledger_url(config, home) if ledger_url is None else ledger_url,
        client_factory=genesys_hook,
        extra_clients_factory=extra_genesys_hooks,
        home=home,
    )
    seeds = [Seed(Identifier(IdentifierKind.EMAIL, e)) for e in emails]
    run_id = f"backfill-{clients}"
    phases: dict[str, float] = {}
    sandbox.reset_counts()
    cpu_sandbox, cpu_own = sandbox.cpu_seconds(), own_cpu_seconds()
    with runtime:
        started = mark = time.monotonic()
        request = PlanRequest(seeds, SubjectSource.RETENTION)
        plan = plan_erasure(runtime, run_id, request, datetime.now(UTC))
        phases["plan"], mark = time.monotonic() - mark, time.monotonic()
        submitted = 0
        for batch in plan["batches"]:
            submitted += submit_batch(runtime, run_id, batch)["submitted"]
        phases["submit"], mark = time.monotonic() - mark, time.monotonic()
        poll = StatusPoll(request_ids_in_flight(runtime, run_id))
        polls = 0
        while True:  # the GDPR trigger's loop, without Airflow
            statuses = runtime.client.poll_gdpr_request_statuses(poll)
            polls += 1
            if all_final(statuses):
                break
            time.sleep(config.poll_interval_seconds)
        phases["wait"], mark = time.monotonic() - mark, time.monotonic()
        settled = settle_requests(runtime, run_id, statuses, datetime.now(UTC), allow_resubmit=False)
        phases["settle"] = time.monotonic() - mark
        elapsed = time.monotonic() - started
    counts = sandbox.counts()
    posts_per_token = sorted(
        (per.get(GDPR_POST, 0) for per in counts["by_token_endpoint"].values() if per.get(GDPR_POST)),
        reverse=True,
    )
    return {
        "clients": clients,
        "subjects": len(emails),
        "planned": plan["to_submit"],
        "submitted": submitted,
        "completed": settled["completed"],
        "elapsed": elapsed,
        "phases": phases,
        "polls": polls,
        "counts": counts,
        "posts_per_token": posts_per_token,
        "cpu_sandbox": sandbox.cpu_seconds() - cpu_sandbox,
        "cpu_client": own_cpu_seconds() - cpu_own,
    }


def run_naive(args: argparse.Namespace, sandbox: SandboxProcess, emails: list[str]) -> dict:
    """The loop the usual guides describe: one request at a time, POST then poll it until it is done."""
    base = sandbox.base_url
    session = requests.Session()
    token = session.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    ).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, url: str, **kwargs: Any) -> requests.Response:
        while True:
            response = session.request(method, url, **kwargs)
            if response.status_code == 429:  # be fair: wait as told, then try again
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            return response

    sandbox.reset_counts()
    cpu_sandbox = sandbox.cpu_seconds()
    started = time.monotonic()
    completed = 0
    for email in emails:
        body = {"requestType": "GDPR_DELETE", "subject": {"emailAddresses": [email]}}
        request_id = call(
            "POST", f"{base}/api/v2/gdpr/requests", params={"deleteConfirmed": "true"}, json=body
        ).json()["id"]
        while True:
            time.sleep(args.naive_poll_seconds)
            status = call("GET", f"{base}/api/v2/gdpr/requests/{request_id}").json()["status"]
            if status in FINAL:
                completed += status == "COMPLETED"
                break
    elapsed = time.monotonic() - started
    return {
        "subjects": len(emails),
        "completed": completed,
        "elapsed": elapsed,
        "counts": sandbox.counts(),
        "cpu_sandbox": sandbox.cpu_seconds() - cpu_sandbox,
    }


def api_calls(counts: dict[str, Any]) -> int:
    return sum(n for endpoint, n in counts["by_endpoint"].items() if endpoint != TOKEN_ENDPOINT)


def too_many(counts: dict[str, Any]) -> int:
    return int(counts["by_status"].get("429", 0))


def render(args: argparse.Namespace, results: dict[str, Any]) -> str:
    rate = per_token_rate(args)
    wall_window = args.window_seconds / args.clock_rate
    completion = 4 * args.gdpr_step_seconds / args.clock_rate  # INITIATED -> ... -> COMPLETED: 4 steps
    out = [
        "## Backfill throughput and the naive loop",
        "",
        machine_line(),
        "",
        f"Sandbox in its own process: the real per-token limit, {args.limit} per {args.window_seconds:g} s "
        f"window, on a clock {args.clock_rate:g}x real time = {args.limit} per {wall_window:g} wall s "
        f"= {rate:g} requests/s per token; a GDPR request completes {completion:g} wall s after its POST "
        f"(4 steps of {args.gdpr_step_seconds:g} sandbox s); poll interval {args.poll_interval} s.",
    ]
    out += [
        "",
        f"Ledger: {args.ledger}" + (f" under {args.ledger_dir}" if args.ledger == "sqlite" else "") + ".",
    ]
    if results.get("capacity"):
        rows = []
        for run in results["capacity"]:
            posts = run["counts"]["by_endpoint"].get(GDPR_POST, 0)
            rows.append(
                [
                    f"{args.ledger} under {run['ledger_dir']}" if args.ledger == "sqlite" else args.ledger,
                    run["subjects"],
                    posts / run["phases"]["submit"],
                    " / ".join(f"{run['phases'][p]:.1f}" for p in ("plan", "submit", "settle")),
                    f"{run['cpu_sandbox'] / run['elapsed']:.0%} / {run['cpu_client'] / run['elapsed']:.0%}",
                ]
            )
        out += [
            "",
            "**Capacity here**: the same steps on a sandbox whose limit is never reached (1 client).",
            "",
            markdown_table(
                [
                    "ledger",
                    "subjects",
                    "POSTs / s in submit",
                    "plan / submit / settle s",
                    "CPU sandbox / client",
                ],
                rows,
            ),
        ]
    rows = []
    for run in results["pipeline"]:
        counts, k = run["counts"], run["clients"]
        calls = api_calls(counts)
        posts = counts["by_endpoint"].get(GDPR_POST, 0)
        bound = calls / (k * rate)
        phases = run["phases"]
        rows.append(
            [
                k,
                f"{run['completed']:,} / {run['subjects']:,}",
                calls,
                calls / max(run["subjects"], 1),
                run["elapsed"],
                bound,
                f"{run['elapsed'] / bound:.2f}",
                f"{phases['submit'] / (posts / (k * rate)):.2f}" if posts else "-",
                " / ".join(f"{phases[p]:.1f}" for p in ("plan", "submit", "wait", "settle")),
                posts / phases["submit"] if phases["submit"] else 0.0,
                too_many(counts),
                " / ".join(f"{p:,}" for p in run["posts_per_token"]),
                f"{run['cpu_sandbox'] / run['elapsed']:.0%} / {run['cpu_client'] / run['elapsed']:.0%}",
            ]
        )
    out += [
        "",
        markdown_table(
            [
                "K clients",
                "completed",
                "API calls",
                "calls / subject",
                "wall s",
                "bound s",
                "wall / bound",
                "submit / its bound",
                "plan / submit / wait / settle s",
                "POSTs / s",
                "429",
                "POSTs per token",
                "CPU sandbox / client",
            ],
            rows,
        ),
        "",
        "bound = API calls / (K x per-token rate); submit / its bound = the submit step's time over its "
        "POSTs / (K x rate). CPU = share of one core over the run. API calls exclude `POST /oauth/token`.",
    ]
    naive, same = results.get("naive"), results.get("pipeline_same")
    if naive and same:
        naive_calls, same_calls = api_calls(naive["counts"]), api_calls(same["counts"])
        out += [
            "",
            f"### Against the naive loop ({naive['subjects']:,} subjects, 1 client, same sandbox settings; "
            f"the naive loop polls every {args.naive_poll_seconds:g} s)",
            "",
            markdown_table(
                ["", "completed", "wall s", "API calls", "calls / subject", "429"],
                [
                    [
                        "project pipeline (plan, submit, wait, settle)",
                        same["completed"],
                        same["elapsed"],
                        same_calls,
                        same_calls / same["subjects"],
                        too_many(same["counts"]),
                    ],
                    [
                        "naive loop (POST, then sleep-poll GET by id)",
                        naive["completed"],
                        naive["elapsed"],
                        naive_calls,
                        naive_calls / naive["subjects"],
                        too_many(naive["counts"]),
                    ],
                    [
                        "**pipeline / naive**",
                        "",
                        f"**{same['elapsed'] / naive['elapsed']:.3f}**",
                        f"**{same_calls / naive_calls:.3f}**",
                        "",
                        "",
                    ],
                ],
            ),
            "",
            "Naive calls per endpoint: "
            + ", ".join(f"`{e}` {n:,}" for e, n in naive["counts"]["by_endpoint"].items())
            + "; pipeline: "
            + ", ".join(f"`{e}` {n:,}" for e, n in same["counts"]["by_endpoint"].items()),
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=10_000, help="backlog size per K")
    parser.add_argument("--clients", default="1,2,4", help="OAuth client counts K to run")
    parser.add_argument("--limit", type=int, default=300, help="requests per token per window")
    parser.add_argument("--window-seconds", type=float, default=60, help="window, sandbox seconds")
    parser.add_argument("--clock-rate", type=float, default=2, help="sandbox seconds per wall second")
    parser.add_argument(
        "--gdpr-step-seconds", type=float, default=0.5, help="sandbox seconds per GDPR status step (4 steps)"
    )
    parser.add_argument("--poll-interval", type=int, default=1, help="the pipeline's poll_interval_seconds")
    parser.add_argument("--naive-subjects", type=int, default=300, help="0 = skip the naive comparison")
    parser.add_argument("--naive-poll-seconds", type=float, default=1.0)
    parser.add_argument(
        "--capacity-subjects", type=int, default=1000, help="unlimited probe of the same path; 0 = skip"
    )
    parser.add_argument(
        "--ledger-dir",
        default="/dev/shm" if Path("/dev/shm").is_dir() else None,
        help="where the SQLite ledger lives (default /dev/shm, a tmpfs: its commits cost no disk sync, so "
        "the limit and the pacer are measured, not this machine's disk; the capacity probe runs on both)",
    )
    parser.add_argument(
        "--ledger",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the ledger: a SQLite file (default) or a fresh database on PostgreSQL 127.0.0.1:5432",
    )
    parser.add_argument("--output", help="also write the markdown to this file")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-backfill-airflow-"))

    results: dict[str, Any] = {"pipeline": []}
    if args.capacity_subjects:
        # the same path with a limit it never reaches: what this machine serves, ledger on tmpfs and on disk
        results["capacity"] = []
        for where in dict.fromkeys([args.ledger_dir, tempfile.gettempdir()]):
            with sandbox_process(args, limit=10**9) as sandbox:
                run = run_pipeline(args, sandbox, subject_emails(args.capacity_subjects), 1, ledger_dir=where)
            results["capacity"].append({"ledger_dir": where, **run})
    for clients in (int(k) for k in args.clients.split(",") if k.strip()):
        with sandbox_process(args, clients=clients) as sandbox:
            run = run_pipeline(args, sandbox, subject_emails(args.subjects), clients)
        results["pipeline"].append(run)
        print(f"K={clients}: {run['completed']:,} completed in {run['elapsed']:.1f} s", flush=True)
    if args.naive_subjects:
        emails = subject_emails(args.naive_subjects)
        with sandbox_process(args) as sandbox:
            results["pipeline_same"] = run_pipeline(args, sandbox, emails, 1)
        with sandbox_process(args) as sandbox:
            results["naive"] = run_naive(args, sandbox, emails)
    text = render(args, results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
