"""Achieved GDPR submission rate against the token's rate limit (client-side pacing, no 429s).

A sandbox with the REAL limit (300 requests per token per 60-second fixed window), and the hook's
`submit_gdpr_request` (GDPR_DELETE, one synthetic subject each) in a loop, single-threaded, as the
`erasure.submit` task does it. The loop runs through the partial window it starts in plus `--full-windows`
complete windows, bounded by `--max-requests` and `--max-seconds`.

The sandbox's windows are fixed and aligned on its own clock, so the rate is read per window: the
requests the sandbox accepted in each COMPLETE window, against the limit. 429s are counted on the server
(the hook retries them transparently, so the client would not notice them).

    PYTHONPATH=include .venv/bin/python bench/bench_submission_rate.py          # ~2-3 minutes
    PYTHONPATH=include .venv/bin/python bench/bench_submission_rate.py --limit 50 --window-seconds 10

Targets (issue): >= 95 % of the limit over the complete windows, zero 429s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, markdown_table

from genesys_sandbox import SandboxServer, SandboxSettings

GDPR_ENDPOINT = "POST /api/v2/gdpr/requests"
TARGET_SHARE = 0.95


class WindowLog:
    """Wraps the sandbox's rate limiter to see, per fixed window, how many token requests it counted."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.window_seconds = sandbox.settings.rate_limit_window_seconds
        self._clock = sandbox.state.clock
        self._lock = threading.Lock()
        self.hits: dict[int, int] = defaultdict(int)
        self.over: dict[int, int] = defaultdict(int)
        limiter = sandbox.state.limiter
        original = limiter.hit

        def hit(key: str):
            state = original(key)
            if key != "anonymous":  # token requests have no bearer token and their own budget
                with self._lock:
                    window = self.current_window()
                    self.hits[window] += 1
                    self.over[window] += state.exceeded
            return state

        limiter.hit = hit  # type: ignore[method-assign]

    def current_window(self) -> int:
        return math.floor(self._clock.monotonic() / self.window_seconds)


def measure(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    settings = SandboxSettings(
        customers=20,
        conversations=200,
        history=args.history,
        rate_limit_per_window=args.limit,
        rate_limit_window_seconds=args.window_seconds,
        # Requests stay queued: the sandbox does no erasure work while the client is being measured.
        gdpr_step_seconds=3600,
    )
    with SandboxServer(settings) as sandbox:
        windows = WindowLog(sandbox)
        os.environ["AIRFLOW_HOME"] = str(home)
        os.environ["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"] = json.dumps(
            {
                "conn_type": "http",
                "host": sandbox.base_url,
                "login": sandbox.client_id,
                "password": sandbox.client_secret,
            }
        )
        from genesys_cloud.hook import GenesysCloudHook

        with GenesysCloudHook() as hook:
            hook.get_token()  # not an API call: POST /oauth/token has its own budget
            started = time.monotonic()
            first_window = windows.current_window()
            last_window = first_window + args.full_windows
            sent = 0
            while (
                sent < args.max_requests
                and time.monotonic() - started < args.max_seconds
                and windows.current_window() <= last_window
            ):
                subject = {"emailAddresses": [f"bench.subject.{sent}@example.org"]}
                hook.submit_gdpr_request("GDPR_DELETE", subject)
                sent += 1
            elapsed = time.monotonic() - started
        counts = sandbox.control.request_counts()
    return {
        "sent": sent,
        "elapsed": elapsed,
        "first_window": first_window,
        "last_window": last_window,
        "hits": dict(windows.hits),
        "over": dict(windows.over),
        "counts": counts,
    }


def render(args: argparse.Namespace, result: dict[str, Any]) -> tuple[str, bool]:
    counts = result["counts"]
    too_many = counts["by_status"].get("429", 0)
    accepted = counts["by_status"].get("202", 0)
    rows, full_accepted, full_windows = [], 0, 0
    for window in sorted(result["hits"]):
        hits, over = result["hits"][window], result["over"].get(window, 0)
        complete = result["first_window"] < window <= result["last_window"]
        ok = hits - over
        if complete:
            full_windows += 1
            full_accepted += ok
        kind = (
            "complete" if complete else ("start (partial)" if window == result["first_window"] else "partial")
        )
        rows.append([window - result["first_window"], kind, ok, over, f"{100 * ok / args.limit:.1f}%"])
    share = full_accepted / (full_windows * args.limit) if full_windows else float("nan")
    per_minute = share * args.limit * 60 / args.window_seconds
    met = share >= TARGET_SHARE and too_many == 0
    out = [
        f"## GDPR submission rate against the token limit ({args.limit} per {args.window_seconds:g} s)",
        "",
        machine_line(),
        "",
        f"{result['sent']:,} `submit_gdpr_request` calls in {result['elapsed']:.1f} s "
        f"({accepted:,} accepted with 202, {too_many} answered 429 by the sandbox); "
        f"overall {60 * result['sent'] / result['elapsed']:.1f} requests/min including the partial windows.",
        "",
        f"**Complete windows: {full_accepted:,} accepted in {full_windows} x {args.window_seconds:g} s = "
        f"{per_minute:.1f} requests/min = {100 * share:.1f}% of the limit; 429s: {too_many}** "
        f"(targets >= {100 * TARGET_SHARE:.0f}% and 0: {'met' if met else 'MISSED'}).",
        "",
        markdown_table(["window", "kind", "accepted", "429", "of limit"], rows),
        "",
        "API calls per endpoint: "
        + ", ".join(f"`{endpoint}` {n:,}" for endpoint, n in counts["by_endpoint"].items()),
    ]
    return "\n".join(out), met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300, help="requests per token per window")
    parser.add_argument("--window-seconds", type=float, default=60)
    parser.add_argument("--full-windows", type=int, default=2, help="complete windows to measure")
    parser.add_argument("--max-requests", type=int, default=1200)
    parser.add_argument("--max-seconds", type=float, default=240)
    parser.add_argument(
        "--history",
        choices=("legacy", "steady"),
        default="legacy",
        help="sandbox seed of the small org it submits against (it compares no sizes; default legacy)",
    )
    parser.add_argument("--output", help="also write the markdown to this file")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="bench-submission-rate-"))
    try:
        result = measure(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    text, _met = render(args, result)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
