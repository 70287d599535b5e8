"""Start bqemulator offline. Run it with the emulator's interpreter: `.venv-bq/bin/python THIS_FILE start`.

bqemulator 1.4.0 refuses to start when DuckDB's `spatial` extension cannot be downloaded
(`DuckDBEngine._load_spatial` raises). This machine has no network but loopback, and erasure needs no
GEOGRAPHY, so the launcher replaces that one check with a warning and hands over to the emulator's own CLI.
`BQEMU_ENABLE_FORMAT_EXTENSIONS=false` (set here unless the caller set it) skips the Avro download too.

This file must stay importable without the project's packages: it runs in .venv-bq, not in .venv.
"""

from __future__ import annotations

import os
import sys


def _skip_spatial(self) -> None:  # the signature of DuckDBEngine._load_spatial
    sys.stderr.write(
        "bqemulator_launcher: DuckDB spatial extension not loaded (GEOGRAPHY/ST_* unavailable)\n"
    )


def main(argv: list[str]) -> None:
    os.environ.setdefault("BQEMU_ENABLE_FORMAT_EXTENSIONS", "false")
    from bqemulator.cli import main as bqemulator_main
    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = _skip_spatial
    bqemulator_main(args=argv, prog_name="bqemulator")


if __name__ == "__main__":
    main(sys.argv[1:])
