"""`python -m genesys_erasure.preflight --out DIR`: the preflight from a terminal.

The org is reached through the same Airflow connection as the pipeline's hook (`genesys_cloud_default`,
e.g. from `AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT`), and the report is signed with the run reports' key (the
password of the `genesys_erasure_hmac` connection). Read-only unless `--probe-writes` (write calls that
cannot succeed: an empty GDPR request, a delete and a disconnect of a made-up id) or `--canary CONTACT_ID`
is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from genesys_erasure.preflight.canary import CanaryOptions
from genesys_erasure.preflight.checks import summary_lines
from genesys_erasure.preflight.run import run_preflight


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genesys_erasure.preflight", description=__doc__)
    parser.add_argument("--out", required=True, help="directory for the signed JSON report")
    parser.add_argument("--conn-id", default="genesys_cloud_default", help="the Genesys Cloud connection")
    parser.add_argument("--key-conn-id", default="genesys_erasure_hmac", help="the signing key's connection")
    parser.add_argument(
        "--canary",
        metavar="CONTACT_ID",
        default=None,
        help="ERASE this test external contact with one GDPR_DELETE and report what changed",
    )
    parser.add_argument(
        "--probe-writes",
        action="store_true",
        help="also ask whether the client may submit, delete and disconnect (calls that cannot succeed)",
    )
    parser.add_argument("--canary-timeout", type=float, default=900.0, help="seconds to wait for it")
    args = parser.parse_args(argv)

    # Airflow only here: the connection lookup is the hook's own, so the CLI sees what the DAGs see.
    from genesys_cloud.hook import GenesysCloudHook
    from genesys_erasure.tasks.runtime import connection_secret

    settings = GenesysCloudHook(genesys_conn_id=args.conn_id).settings
    key = connection_secret(args.key_conn_id, "--key-conn-id")
    canary = CanaryOptions(args.canary, timeout_seconds=args.canary_timeout) if args.canary else None
    report, path = run_preflight(settings, key, args.out, canary=canary, probe_writes=args.probe_writes)
    for line in summary_lines(report):
        print(line)
    print(f"signed report: {path}")
    return 1 if report["facts"]["missing_permissions"] else 0


if __name__ == "__main__":
    sys.exit(main())
