"""The preflight: facts about a real Genesys Cloud org, read once before the pipeline is trusted with it.

`probe` holds the raw HTTP layer (every call's status, error code and rate-limit headers, never a body
value), `checks` the read-only checks and the signed report, `canary` the opt-in canary erasure of one
test external contact, `run` all of it with the report, `__main__` the command line
(`python -m genesys_erasure.preflight --out DIR`).
Nothing here imports Airflow; the task and the CLI hand in the connection settings and the signing key.
"""

from genesys_erasure.preflight.canary import CanaryOptions, run_canary
from genesys_erasure.preflight.checks import build_report, run_checks, summary_lines, write_report
from genesys_erasure.preflight.probe import HttpProbe
from genesys_erasure.preflight.run import run_preflight

__all__ = [
    "CanaryOptions",
    "HttpProbe",
    "build_report",
    "run_canary",
    "run_checks",
    "run_preflight",
    "summary_lines",
    "write_report",
]
