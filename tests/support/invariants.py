"""The pipeline's promise, checked from outside the pipeline after a run of a deployment
(tests/support/deployment.py): every subject in exactly one state and none left half-way, never two live
GDPR requests for one subject, the ledger, the sandbox and the signed report telling the same story, and
no raw identifier anywhere the deployment wrote.

Right after a run a subject may be `erasure_pending`: Genesys completed its request but part of the
delete lands later (the pessimistic profile's recording and contact delete lags, the search index's lag).
That is a legitimate state to end a run in, not a final one: once every delete has had time to land and a
later run re-checked the subject, it must be final (`unsettled_past_deadline`, given the sandbox instant
the re-checking run started from).

Nothing here imports the pipeline's ledger or report code paths: the ledger is read with plain SQL, the
sandbox's GDPR requests from its own store, the report as JSON (its signature checked against the
published public key, as an auditor would). A broken invariant names the subject's keyed hash (a prefix)
and the state it ended in, never an identifier.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from genesys_erasure.evidence import verify_report
from genesys_erasure.signing import load_public_keys
from tests.support.privacy_scan import scan_paths

# Where a subject may stand once the run that holds it has ended. `planned`, `submitting`, `submitted`
# and `completed` are the pipeline half-way: a run that ended must not leave any of them behind.
TRANSIENT_STATES = frozenset({"planned", "submitting", "submitted", "completed"})
# Where a subject may stay for good (the ledger's own list, restated: this module does not import the
# pipeline): the pipeline is done with it until a person, or the customer coming back, moves it.
FINAL_STATES = frozenset({"verified", "failed", "quarantined", "needs_review"})
# Genesys' statuses for a request that is over: a request still moving is a run that stopped too early.
GENESYS_FINAL = frozenset({"COMPLETED", "ERROR"})


@dataclass(frozen=True)
class LedgerSubject:
    subject_hash: str
    state: str
    run_id: str
    last_request_id: str | None
    last_genesys_status: str | None
    request_ids: tuple[str, ...]  # every request ever recorded for the subject, oldest first

    def name(self) -> str:
        return f"subject {self.subject_hash[:12]}… (state {self.state})"


def read_ledger(ledger_url: str) -> dict[str, LedgerSubject]:
    """Every subject of the ledger with its request history, read with plain SQL."""
    engine = sa.create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            history: dict[str, list[str]] = defaultdict(list)
            for subject_hash, request_id in conn.execute(
                sa.text("SELECT subject_hash, request_id FROM erasure_requests ORDER BY attempt, recorded_at")
            ):
                history[subject_hash].append(request_id)
            rows = conn.execute(
                sa.text(
                    "SELECT subject_hash, state, run_id, last_request_id, last_genesys_status "
                    "FROM erasure_subjects"
                )
            ).all()
    finally:
        engine.dispose()
    return {
        row.subject_hash: LedgerSubject(
            row.subject_hash,
            row.state,
            row.run_id,
            row.last_request_id,
            row.last_genesys_status,
            tuple(history.get(row.subject_hash, ())),
        )
        for row in rows
    }


def known_subjects(ledger_url: str) -> set[str]:
    """The subject hashes the ledger holds now; none before the first run created its tables."""
    engine = sa.create_engine(ledger_url)
    try:
        if not sa.inspect(engine).has_table("erasure_subjects"):
            return set()
    finally:
        engine.dispose()
    return set(read_ledger(ledger_url))


def sandbox_requests(sandbox) -> list[Any]:
    """Every GDPR request the sandbox (Genesys) holds, as its own store has them."""
    store = sandbox.state.gdpr
    requests, _ = store.page(max(store.count(), 1), 1)
    return requests


def _subject_key(subject: dict[str, Any]) -> str:
    return json.dumps(subject, sort_keys=True)


def settling_time(settings) -> timedelta:
    """How long after a GDPR delete COMPLETED the sandbox (`SandboxSettings`) may still show part of it: a
    recording's file, or an external contact deleted late and then still listed by the search index. A
    contact never deleted (`gdpr_contact_delete_lag_hours` None) never settles; it counts as no lag here,
    so such a subject is reported, as it should be once the pipeline's own pending deadline is past."""
    contact = (settings.gdpr_contact_delete_lag_hours or 0.0) + settings.contact_index_lag_hours
    return timedelta(hours=max(settings.gdpr_recording_delete_lag_hours, contact))


def check_run(
    deployment,
    run_id: str,
    report_path: Path,
    needles: Iterable[str],
    *,
    rechecked_from: datetime | None = None,
) -> None:
    """Every invariant after the run `run_id` ended; an AssertionError lists every breach found.
    `rechecked_from`: the sandbox instant the run started from, when it re-checked every subject left
    pending: each subject whose deletes had landed by then must be final."""
    problems: list[str] = []
    ledger = read_ledger(deployment.ledger_url)
    requests = sandbox_requests(deployment.sandbox)
    problems += states_settled(ledger)
    if rechecked_from is not None:
        settle = settling_time(deployment.settings)
        problems += unsettled_past_deadline(ledger, requests, rechecked_from=rechecked_from, settle=settle)
    problems += no_duplicate_requests(requests, ledger)
    problems += ledger_agrees_with_sandbox(ledger, requests)
    problems += report_agrees_with_ledger(report_path, run_id, ledger)
    problems += no_raw_identifiers(deployment, list(needles))
    assert not problems, "invariants broken:\n" + "\n".join(problems)


def states_settled(ledger: dict[str, LedgerSubject]) -> list[str]:
    """One row per subject is the ledger's primary key; the run that ended left none half-way."""
    return [f"{s.name()} left half-way" for s in ledger.values() if s.state in TRANSIENT_STATES]


def unsettled_past_deadline(
    ledger: dict[str, LedgerSubject], requests: list[Any], *, rechecked_from: datetime, settle: timedelta
) -> list[str]:
    """A subject whose last GDPR request COMPLETED at Genesys at least `settle` before `rechecked_from`
    (sandbox time; the run that re-checked it started then) had every delete landed before it was checked
    again: it must be final. Still `erasure_pending` then (or in any other state that is not final) is a
    delete the pipeline never confirmed. A subject pending whose deadline is still ahead is fine; one left
    half-way is `states_settled`'s to report."""
    by_id = {request.id: request for request in requests}
    problems: list[str] = []
    for subject in ledger.values():
        if subject.state in FINAL_STATES or subject.state in TRANSIENT_STATES:
            continue
        request = by_id.get(subject.last_request_id) if subject.last_request_id else None
        if request is None or request.completed_date is None:
            continue  # no completed request: nothing of its deletes to land
        if request.completed_date + settle <= rechecked_from:
            before = (rechecked_from - request.completed_date) / timedelta(hours=1)
            problems.append(
                f"{subject.name()} not final: its request {request.id} completed {before:.0f} h before "
                f"the run that re-checked it (every delete lands within {settle / timedelta(hours=1):.0f} h)"
            )
    return problems


def no_duplicate_requests(requests: list[Any], ledger: dict[str, LedgerSubject]) -> list[str]:
    """Per subject (grouped by the subject body Genesys received), at most one request that did not end
    in ERROR: a request that failed at Genesys may be resubmitted, anything else posted twice is a
    duplicate. Reported by the ledger subjects holding them (hash prefix and state), the number of
    requests and their ids, never the body."""
    live: dict[str, list[str]] = defaultdict(list)
    for request in requests:
        if request.status != "ERROR":
            live[_subject_key(request.subject)].append(request.id)
    owner = {rid: s for s in ledger.values() for rid in s.request_ids}
    problems = []
    for ids in live.values():
        if len(ids) > 1:
            owners = sorted({owner[rid].name() for rid in ids if rid in owner}) or ["no ledger subject"]
            problems.append(f"{'; '.join(owners)}: {len(ids)} live GDPR requests: {', '.join(sorted(ids))}")
    return problems


def ledger_agrees_with_sandbox(ledger: dict[str, LedgerSubject], requests: list[Any]) -> list[str]:
    """Every request Genesys holds is in the ledger's history of exactly one subject, and each subject's
    last request has the status the ledger recorded (and a final one)."""
    problems: list[str] = []
    owner = {rid: s for s in ledger.values() for rid in s.request_ids}
    by_id = {request.id: request for request in requests}
    for request in requests:
        if request.id not in owner:
            problems.append(f"GDPR request {request.id} ({request.status}) is in no subject's ledger history")
    for subject in ledger.values():
        for rid in subject.request_ids:
            if rid not in by_id:
                problems.append(f"{subject.name()}: request {rid} unknown to Genesys")
        if subject.last_request_id is None:
            continue
        request = by_id.get(subject.last_request_id)
        if request is None:
            continue  # reported above
        if request.status not in GENESYS_FINAL:
            problems.append(f"{subject.name()}: its request {request.id} is still {request.status}")
        if subject.last_genesys_status != request.status:
            problems.append(
                f"{subject.name()}: ledger says {subject.last_genesys_status}, Genesys says {request.status}"
            )
        if subject.state == "verified" and request.status != "COMPLETED":
            problems.append(f"{subject.name()}: verified, but its request ended {request.status}")
    return problems


def report_agrees_with_ledger(report_path: Path, run_id: str, ledger: dict[str, LedgerSubject]) -> list[str]:
    """The run's signed report verifies with the published key, names every subject of the run once,
    each with the ledger's state and request ids."""
    if not report_path.is_file():
        return [f"no signed report for run {run_id}"]
    keys = load_public_keys(report_path.parent)
    if not verify_report(report_path, keys):
        return [f"the report of run {run_id} does not verify with the published key"]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    problems: list[str] = []
    listed = [entry["subject_hash"] for entry in report["subjects"]]
    for twice in sorted({h for h in listed if listed.count(h) > 1}):
        named = ledger[twice].name() if twice in ledger else f"subject {twice[:12]}…"
        problems.append(f"the report lists {named} more than once")
    of_run = {h for h, s in ledger.items() if s.run_id == run_id}
    for missing in sorted(of_run - set(listed)):
        problems.append(f"{ledger[missing].name()} of the run is missing from its report")
    for entry in report["subjects"]:
        subject = ledger.get(entry["subject_hash"])
        if subject is None:
            problems.append(
                f"the report names subject {entry['subject_hash'][:12]}… (state {entry['state']}), "
                "unknown to the ledger"
            )
            continue
        if subject.run_id != run_id:
            continue  # a later run took the subject over since; that run's report speaks for it
        if entry["state"] != subject.state:
            problems.append(f"{subject.name()}: the report says {entry['state']}")
        if list(entry["request_ids"]) != list(subject.request_ids):
            problems.append(f"{subject.name()}: the report's request ids differ from the ledger's")
    return problems


def dump_database_text(url: str, into: Path) -> Path:
    """Every text-like column of every table of a PostgreSQL database, one file per table, so the file
    scanner (every encoding it knows) looks at the database's content."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            columns = conn.execute(
                sa.text(
                    "SELECT table_schema, table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND data_type IN "
                    "('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY', "
                    "'USER-DEFINED') ORDER BY 1, 2, 3"
                )
            ).all()
            tables: dict[tuple[str, str], list[str]] = defaultdict(list)
            for schema, table, column in columns:
                tables[(schema, table)].append(column)
            for (schema, table), names in tables.items():
                selected = ", ".join(f'"{n}"::text' for n in names)
                path = into / f"{schema}.{table}.txt"
                with path.open("w", encoding="utf-8") as out:
                    for row in conn.execute(sa.text(f'SELECT {selected} FROM "{schema}"."{table}"')):
                        out.write("\t".join("" if v is None else v for v in row) + "\n")
    finally:
        engine.dispose()
    return into


def no_raw_identifiers(deployment, needles: list[str]) -> list[str]:
    """No needle in the deployment's files (Airflow home, component and task logs, reports, config) nor
    in the metadata or ledger databases. A hit names the place and the needle's index only."""
    with tempfile.TemporaryDirectory(prefix="db-dump-") as scratch:
        for name, url in (("metadata", deployment.metadata_url), ("ledger", deployment.ledger_url)):
            (Path(scratch) / name).mkdir()
            dump_database_text(url, Path(scratch) / name)
        hits = scan_paths([deployment.workdir, scratch], needles)
        return [
            f"planted identifier #{hit.needle_index} found in {Path(hit.path).name} ({hit.encoding})"
            for hit in hits
        ]
