"""Subject derivation at scale: `ContactIndex` over up to 1,000,000 generated conversations.

Conversations come from `synthetic_conversations.ConversationStream` (a fixed pool of customers, one
fresh dict at a time, never a list), are fed to `ContactIndex.add`, and the expired customers are read
out once at the end (`expired(cutoff)`, as the nightly scan does). Each size runs in its own child process
so every peak-memory figure starts from a clean interpreter:

* wall time of the whole pass, and the part spent inside `ContactIndex.add`;
* peak RSS (`ru_maxrss`) and its growth over the RSS measured just before feeding;
* the retained size of the index's per-identifier state (a `sys.getsizeof` walk), which is what should
  grow with distinct identifiers and not with the number of conversations;
* optionally (`--tracemalloc`) the traced peak of Python allocations while feeding (slower, ~2x).

`--history steady` (the default) generates the same volume on every day with customers who start and stop
calling through the six years and no active conversations, as the sandbox's steady seeder does, so sizes
compare at one daily volume; `--history uniform` is the earlier stream (every customer calling all along).

A contrast row with a larger customer pool shows memory following distinct identifiers; two rows over a
small pool (2,000 customers, the sandbox org's size) show it flat in N once every identifier's list of
retained conversation ids is full (`conversation_id_cap`, 50).

    PYTHONPATH=include .venv/bin/python bench/bench_derivation.py                 # ~3-5 minutes
    PYTHONPATH=include .venv/bin/python bench/bench_derivation.py --sizes 20000,50000 --contrast 0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from _report import machine_line, markdown_table, peak_rss_mib  # noqa: E402

DEFAULT_SIZES = "100000,300000,1000000"
DEFAULT_CUSTOMERS = 50_000
RETENTION = timedelta(days=1826)


def current_rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    import resource

    return resident_pages * resource.getpagesize() / 2**20


def index_retained_bytes(index: Any) -> int:
    """Bytes held by the per-identifier state: the dict, its keys, the entries and their packed ids.
    (Reads private attributes on purpose: this is a measurement, not an interface.)"""
    entries = index._entries
    total = sys.getsizeof(entries)
    for key, entry in entries.items():
        total += sys.getsizeof(key) + sys.getsizeof(entry)
        total += sys.getsizeof(entry.stamps) + sys.getsizeof(entry.ids)
    return total


def run_one(conversations: int, customers: int, use_tracemalloc: bool, history: str) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    import tracemalloc

    from synthetic_conversations import ConversationStream

    from genesys_erasure.derivation import ContactIndex
    from genesys_erasure.identifiers import Identifier, IdentifierKind

    stream = ConversationStream(conversations, customers, history=history)
    index = ContactIndex(
        own_identifiers=[Identifier(IdentifierKind.EMAIL, "support@acme-energy.example.org")],
        default_region="GB",
    )
    baseline = current_rss_mib()
    if use_tracemalloc:
        tracemalloc.start()
    add = index.add
    clock = time.perf_counter
    in_add = 0.0
    started = clock()
    for conversation in stream:
        before = clock()
        add(conversation)
        in_add += clock() - before
    expired = index.expired(stream._now - RETENTION)
    wall = clock() - started
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if use_tracemalloc else None
    if use_tracemalloc:
        tracemalloc.stop()
    return {
        "conversations": index.conversations_read,
        "customers": customers,
        "identifiers": index.customer_count(),
        "expired": len(expired),
        "wall_s": wall,
        "add_us": 1e6 * in_add / max(1, index.conversations_read),
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak_rss_mib(),
        "retained_mib": index_retained_bytes(index) / 2**20,
        "traced_peak_mib": traced_peak,
        "problems": sum(index.problems.values()),
    }


def run_child(conversations: int, customers: int, use_tracemalloc: bool, history: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--single", str(conversations), "--customers", str(customers)]
    command += ["--history", history]
    if use_tracemalloc:
        command.append("--tracemalloc")
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(results: list[dict[str, Any]], use_tracemalloc: bool, history: str) -> str:
    headers = [
        "conversations",
        "customer pool",
        "distinct identifiers",
        "expired",
        "wall s",
        "µs / conv in add",
        "peak RSS MiB",
        "RSS growth MiB",
        "index retained MiB",
        "bytes / identifier",
    ]
    if use_tracemalloc:
        headers.append("tracemalloc peak MiB")
    rows = []
    for r in results:
        row = [
            r["conversations"],
            r["customers"],
            r["identifiers"],
            r["expired"],
            r["wall_s"],
            r["add_us"],
            r["peak_rss_mib"],
            r["peak_rss_mib"] - r["baseline_rss_mib"],
            r["retained_mib"],
            int(r["retained_mib"] * 2**20 / max(1, r["identifiers"])),
        ]
        if use_tracemalloc:
            row.append(r["traced_peak_mib"])
        rows.append(row)
    return "\n".join(
        [
            "## Subject derivation (`ContactIndex`) over generated conversations",
            "",
            machine_line(),
            "",
            markdown_table(headers, rows),
            "",
            "wall s = generating + indexing + `expired()`; µs / conv in add = indexing alone. "
            "Each row is a fresh process; RSS growth = peak RSS - RSS just before feeding. "
            f"History: {history} (`--history`).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated conversation counts")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, help="fixed customer pool")
    parser.add_argument(
        "--contrast", type=int, default=150_000, help="pool of an extra 300k row (0 = no contrast row)"
    )
    parser.add_argument(
        "--saturation",
        type=int,
        default=2_000,
        help="pool of extra 300k and 1M rows where every identifier reaches its id cap (0 = none)",
    )
    parser.add_argument(
        "--history",
        choices=("steady", "uniform"),
        default="steady",
        help="steady: the same volume every day, customers churning yearly, no active conversations "
        "(as the sandbox's steady seeder); uniform: the earlier stream (default steady)",
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", help="also write the markdown to this file")
    args = parser.parse_args(argv)

    if args.single:
        print(json.dumps(run_one(args.single, args.customers, args.tracemalloc, args.history)))
        return 0
    plan = [(int(size), args.customers) for size in args.sizes.split(",")]
    if args.contrast:
        plan.append((300_000, args.contrast))
    if args.saturation:
        plan += [(300_000, args.saturation), (1_000_000, args.saturation)]
    results = []
    for conversations, customers in plan:
        print(f"... {conversations:,} conversations, {customers:,} customers", file=sys.stderr, flush=True)
        results.append(run_child(conversations, customers, args.tracemalloc, args.history))
    text = render(results, args.tracemalloc, args.history)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
