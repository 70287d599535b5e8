"""`make airflow`: the project in a real Airflow UI on this machine, without Docker.

Starts the Genesys Cloud sandbox (the demo's org by default) and both local warehouses seeded with its
conversations, prepares `var/standalone/` (Airflow home with a SQLite metadata DB, purge config, warehouse
mapping, the users' passwords), then runs `airflow standalone` (api-server, scheduler with the
LocalExecutor, dag-processor, triggerer) with the project's DAGs and connections, and prints the URL and
the logins once Airflow is healthy. Its output goes to `var/standalone/standalone.log`. Ctrl-C (or
SIGTERM) stops Airflow's whole process group, the warehouses and the sandbox.

The sandbox lives in memory, so every start begins afresh: `var/standalone/` is emptied first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from genesys_devtools.local_airflow import REPO_ROOT, USERS, server_environment, write_passwords
from genesys_devtools.rehearsal import Rehearsal
from genesys_sandbox import SandboxSettings

# Local logins (user = password), for a UI on 127.0.0.1 only.
LOGINS = {user: user for user in USERS}
READY_TIMEOUT_SECONDS = 300.0


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt  # leave through the same clean-up as Ctrl-C


def _healthy(base_url: str) -> bool:
    with contextlib.suppress(requests.RequestException, ValueError):
        health = requests.get(f"{base_url}/api/v2/monitor/health", timeout=5).json()
        return all(
            health.get(part, {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )
    return False


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to standalone's process group (SIGTERM to standalone alone leaves its children running)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived the parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=str(REPO_ROOT / "var" / "standalone"), help="working directory")
    parser.add_argument("--port", type=int, default=8080, help="the UI and REST API port on 127.0.0.1")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=20000)
    parser.add_argument("--profile", default="pessimistic", help="sandbox profile: pessimistic or faithful")
    parser.add_argument("--rate-limit", type=int, default=3000, help="sandbox requests per token per minute")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    home = Path(args.home).resolve()
    shutil.rmtree(home, ignore_errors=True)
    airflow_home = home / "airflow"
    settings = SandboxSettings.for_profile(
        args.profile,
        customers=args.customers,
        conversations=args.conversations,
        rate_limit_per_window=args.rate_limit,
        gdpr_step_seconds=0.5,  # GDPR requests complete within seconds, as in `make demo`
    )
    base_url = f"http://127.0.0.1:{args.port}"
    print(
        f"Seeding the sandbox ({args.customers} customers, profile {args.profile}) and the local warehouses"
    )
    try:
        # leaving the block stops Airflow first (the callback), then the warehouses and the sandbox
        with Rehearsal(home, settings) as world, contextlib.ExitStack() as stack:
            env = {
                **os.environ,
                **server_environment(
                    airflow_home,
                    api_port=args.port,
                    metadata_db=f"sqlite:///{airflow_home / 'airflow.db'}",
                    passwords_file=write_passwords(airflow_home / "passwords.json", LOGINS),
                ),
                **world.environment(),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            }
            log_path = home / "standalone.log"
            print(f"Preparing the metadata DB and the DML pool, starting Airflow (output: {log_path})")
            with log_path.open("ab") as log:
                prepare = [sys.executable, "-m", "genesys_devtools.local_airflow", "prepare"]
                if subprocess.run(prepare, env=env, stdout=log, stderr=subprocess.STDOUT).returncode:
                    print(f"Preparing the metadata DB failed; see {log_path}", file=sys.stderr)
                    return 1
                process = subprocess.Popen(
                    [str(Path(sys.executable).parent / "airflow"), "standalone"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            stack.callback(_stop, process)
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while not _healthy(base_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    print(f"Airflow did not become healthy; see {log_path}", file=sys.stderr)
                    return 1
                time.sleep(1)
            logins = ", ".join(f"{user} / {password} ({USERS[user]})" for user, password in LOGINS.items())
            print(f"\nAirflow is ready at {base_url}\nLogins: {logins}")
            print(f"Genesys Cloud sandbox at {world.sandbox.base_url}. Ctrl-C stops everything.", flush=True)
            return process.wait()
    except KeyboardInterrupt:
        print("\nStopped Airflow, the warehouses and the sandbox")
        return 0


if __name__ == "__main__":
    sys.exit(main())
