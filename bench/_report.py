"""Shared by the benchmark scripts: markdown tables and a one-line description of the machine."""

from __future__ import annotations

import os
import platform
import resource
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub markdown table; columns holding only numbers are right-aligned."""
    rows = [[_cell(value) for value in row] for row in rows]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line() -> str:
    """Date, CPU count, load and Python: the context a number needs to be read against."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs ({platform.machine()}) · "
        f"load {load} · Python {sys.version.split()[0]}"
    )


def peak_rss_mib() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    stripped = text.replace(",", "").replace("%", "").replace(".", "", 1).lstrip("-")
    return stripped.isdigit()
