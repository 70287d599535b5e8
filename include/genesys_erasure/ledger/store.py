"""The durable erasure ledger: one row per subject, on SQLite (embedded default) or PostgreSQL.

Every state change is a conditional UPDATE (`WHERE subject_hash = :h AND state = :seen`) whose rowcount
is checked, inside a transaction; claiming a subject for submission is `WHERE state IN ('planned') AND
run_id = :run`, so of two runs racing for the same subject exactly one gets rowcount 1 and may POST, and
only the run that planned it (with its request type and approval). A subject another DAG's run planned
recently is left to that run by `plan`, and a row another run adopted takes no outcome from this one.
On SQLite every transaction starts with BEGIN IMMEDIATE (writers are serialised) and `secure_delete` is
on, so a wiped sealed token is overwritten in the file rather than left in a free page. (PostgreSQL keeps
old row versions until VACUUM; the tokens are encrypted, and the residual-data disclosure says so.)

No raw identifier is ever passed to this module: `SubjectPlan.build` hashes and seals before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, select, update
from sqlalchemy.engine import URL

from genesys_cloud.vocabulary import GdprRequestType, GdprStatus
from genesys_erasure.ledger.external import RECORDED_BY as RECORDED_BY_LISTENER
from genesys_erasure.ledger.external import insert_external_erasure
from genesys_erasure.ledger.reads import LedgerReads
from genesys_erasure.ledger.reconcile import DEFAULT_STALE_AFTER, match_stuck_submissions
from genesys_erasure.ledger.records import (
    KnownRequest,
    LedgerRow,
    PlanOutcome,
    ReconcileOutcome,
    SkippedSubject,
    SubjectPlan,
)
from genesys_erasure.ledger.rows import load_rows
from genesys_erasure.ledger.schema import (
    SCHEMA_VERSION,
    ledger_meta,
    metadata,
    requests,
    run_clocks,
    subjects,
    upgrade_schema,
    utc_now,
)
from genesys_erasure.ledger.sql import (
    add_identifier_hashes,
    check_id,
    check_reason,
    check_run_id,
    conditional_update,
    create_ledger_engine,
    insert_ignore,
    json_ready,
    new_row,
    prepare_engine,
    record_request,
    select_locked,
    submitted_values,
    transition,
)
from genesys_erasure.ledger.states import (
    CARRIED_STATES,
    FINAL_STATES,
    IN_FLIGHT_STATES,
    RECHECK_STATES,
    RETRY_STATES,
    SUBMITTABLE_STATES,
    IllegalTransition,
    LedgerError,
    SubjectSource,
    SubjectState,
    SubmissionRefused,
    check_transition,
)

DEFAULT_LEDGER_URL = "sqlite:///var/ledger.sqlite"
GENESYS_COMPLETED = GdprStatus.COMPLETED
GENESYS_ERROR = GdprStatus.ERROR

S = SubjectState
# How long a subject planned by another DAG's run is left to that run: its approval wait and submission
# time out `wait_deadline_days` after the run starts (tasks/flow.py), so a younger plan may still be
# approved and posted with its own request type; an older one is abandoned. Matches the config default.
DEFAULT_OTHER_RUN_HOLD = timedelta(days=7)


class Ledger(LedgerReads):
    """The ledger's writes: planning, submission and outcomes (reads in `LedgerReads`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str | URL | Engine | None = None) -> Ledger:
        """Open (and create, idempotently) the ledger. `url` is a SQLAlchemy URL or engine; default is
        the embedded SQLite file `var/ledger.sqlite` relative to the working directory."""
        engine = (
            prepare_engine(url)
            if isinstance(url, Engine)
            else create_ledger_engine(url or DEFAULT_LEDGER_URL)
        )
        metadata.create_all(engine, checkfirst=True)
        ledger = cls(engine)
        with ledger._tx() as conn:
            insert_ignore(conn, ledger_meta, {"key": "schema_version", "value": str(SCHEMA_VERSION)})
            upgrade_schema(conn)
        return ledger

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self._engine.url.render_as_string(hide_password=True)})"

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._engine.begin() as conn:
            yield conn

    # ---- the run clock ----------------------------------------------------------------------------

    def fix_run_clock(
        self, run_id: str, as_of: datetime, cutoff: datetime, *, now=None
    ) -> tuple[datetime, datetime]:
        """The run's (as_of, cutoff): the ones given when the run has none recorded yet, else the recorded
        ones (a retry or a later task of the run never recomputes them)."""
        check_run_id(run_id)
        with self._tx() as conn:
            insert_ignore(
                conn,
                run_clocks,
                {"run_id": run_id, "as_of": as_of, "cutoff": cutoff, "recorded_at": now or utc_now()},
            )
            row = conn.execute(
                select(run_clocks.c.as_of, run_clocks.c.cutoff).where(run_clocks.c.run_id == run_id)
            ).one()
        return row.as_of, row.cutoff

    def run_clock_recorded_at(self, run_id: str) -> datetime | None:
        """When the run's clock was fixed (the wall time its first task asked), or None: a run's start as
        every later task and retry of it sees it, whatever Airflow records when a run is cleared."""
        with self._engine.connect() as conn:
            return conn.execute(
                select(run_clocks.c.recorded_at).where(run_clocks.c.run_id == run_id)
            ).scalar_one_or_none()

    def run_clock(self, run_id: str) -> tuple[datetime, datetime] | None:
        """The run's recorded (as_of, cutoff), or None when no task of the run has fixed them yet."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(run_clocks.c.as_of, run_clocks.c.cutoff).where(run_clocks.c.run_id == run_id)
            ).first()
        return (row.as_of, row.cutoff) if row else None

    # ---- planning -------------------------------------------------------------------------------

    def plan(
        self,
        subjects_to_plan: Iterable[SubjectPlan],
        run_id: str,
        *,
        dry_run: bool = False,
        other_run_hold: timedelta = DEFAULT_OTHER_RUN_HOLD,
        now=None,
    ) -> PlanOutcome:
        """Upsert subjects into `run_id`. Verified subjects are skipped (returned with the run that
        erased them); subjects with a request in flight are left alone, and so are subjects another
        DAG's run planned within `other_run_hold` (`planned_by_another_run`); a dry run never touches
        rows a real run created, and stores no sealed identifiers."""
        check_run_id(run_id)
        now = now or utc_now()
        plans = list(subjects_to_plan)
        seen: set[str] = set()
        for index, plan in enumerate(plans):
            if not isinstance(plan, SubjectPlan):
                raise TypeError(f"subjects[{index}]: expected a SubjectPlan")
            if plan.subject_hash in seen:
                raise ValueError(f"subjects[{index}]: subject {plan.subject_hash[:16]}… is listed twice")
            if not dry_run and not plan.sealed_identifiers:
                raise ValueError(f"subjects[{index}]: no sealed identifiers (required unless dry run)")
            seen.add(plan.subject_hash)
        outcome = _Outcome()
        with self._tx() as conn:
            for plan in plans:
                if insert_ignore(conn, subjects, new_row(plan, run_id, dry_run, now)):
                    outcome.planned.append(plan.subject_hash)
                else:
                    row = select_locked(conn, plan.subject_hash)
                    if _held_by_another_run(row, plan, run_id, now - other_run_hold):
                        outcome.planned_by_another_run.append(plan.subject_hash)
                    else:
                        self._replan(conn, row, plan, run_id, dry_run, now, outcome)
                if outcome.planned and outcome.planned[-1] == plan.subject_hash:
                    # only identifiers this run will erase: a skipped subject gains no look-up entries
                    add_identifier_hashes(conn, plan, now)
        return outcome.freeze()

    def carry_over_into(self, run_id: str, *, now=None) -> PlanOutcome:
        """Plan every carried (deferred/overdue) subject into `run_id`, keeping its sealed identifiers."""
        check_run_id(run_id)
        now = now or utc_now()
        outcome = _Outcome()
        with self._tx() as conn:
            hashes = conn.scalars(
                select(subjects.c.subject_hash).where(subjects.c.state.in_([s.value for s in CARRIED_STATES]))
            ).all()
            for subject_hash in hashes:
                self._replan(conn, select_locked(conn, subject_hash), None, run_id, False, now, outcome)
        return outcome.freeze()

    def retry_failed_into(self, run_id: str, subject_hashes: Iterable[str], *, now=None) -> tuple[str, ...]:
        """Plan these `failed` subjects into `run_id` again, keeping their sealed identifiers, request
        type, ticket, due date and source (as `carry_over_into` does for deferred ones). A subject that
        is no longer `failed` with sealed identifiers (planned afresh, wiped meanwhile) is left alone.
        The caller chose them (`steps.retry_failed`): attempts left, and no guard against a retry."""
        check_run_id(run_id)
        now = now or utc_now()
        outcome = _Outcome()
        with self._tx() as conn:
            for subject_hash in sorted(set(subject_hashes)):
                row = select_locked(conn, subject_hash)
                if row["state"] in {s.value for s in RETRY_STATES} and row["sealed_identifiers"]:
                    self._replan(conn, row, None, run_id, False, now, outcome)
        return tuple(outcome.planned)

    def give_up_failed(self, subject_hash: str, reason: str, *, now=None) -> LedgerRow:
        """A `failed` subject no run may retry (an identifier of it is now excluded, quarantined or
        awaiting review, or its attempts are used up): `needs_review`, its sealed identifiers wiped."""
        return self._move(subject_hash, S.NEEDS_REVIEW, {"reason": check_reason(reason)}, now)

    def release_failed(self, subject_hash: str, reason: str, *, now=None) -> LedgerRow:
        """A `failed` subject not to retry and not for a person either (the person came back: a recent
        contact, so a later scan finds them when that contact expires): its sealed identifiers are wiped
        now; the row stays `failed`, with the reason."""
        now = now or utc_now()
        with self._tx() as conn:
            row = select_locked(conn, subject_hash)
            if row["state"] not in {s.value for s in RETRY_STATES}:
                raise IllegalTransition(subject_hash, row["state"], S.FAILED)
            values = {"sealed_identifiers": None, "reason": check_reason(reason), "updated_at": now}
            conditional_update(conn, row, values)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def adopt_in_flight(self, run_id: str, *, source: SubjectSource | str, now=None) -> tuple[str, ...]:
        """Take over subjects of `source` whose request is in flight (submitted or completed) under
        another run: that run died after posting, or its crash was reconciled. The taking run waits for,
        verifies and reports them; nothing is posted again."""
        return self._adopt(
            run_id,
            now,
            subjects.c.state.in_([S.SUBMITTED.value, S.COMPLETED.value]),
            subjects.c.source == SubjectSource(source).value,
        )

    def adopt_recorded_external(self, run_id: str, *, now=None) -> tuple[str, ...]:
        """Take over external erasures another run of the request listener recorded and never verified
        (it died after recording): rows of source external still `completed` on the request the listener
        recorded. Narrower than `adopt_in_flight(source=external)`: a deferred external subject carried
        into a nightly run keeps its source, and its new request (in flight under that live run) is not
        the listener's to take."""
        recorded = select(requests.c.request_id).where(requests.c.recorded_by == RECORDED_BY_LISTENER)
        return self._adopt(
            run_id,
            now,
            subjects.c.state == S.COMPLETED.value,
            subjects.c.source == SubjectSource.EXTERNAL.value,
            subjects.c.last_request_id.in_(recorded),
        )

    def adopt_pending(self, run_id: str, *, now=None) -> tuple[str, ...]:
        """Take every `erasure_pending` subject (from any run) into `run_id`, whose verification step
        re-checks it: the request is done at Genesys, so nothing is posted again."""
        return self._adopt(run_id, now, subjects.c.state.in_([s.value for s in RECHECK_STATES]))

    def _adopt(self, run_id: str, now, *where) -> tuple[str, ...]:
        """Move the rows matching `where` that another run owns into `run_id`. Each row is re-read under
        lock and taken only if its owner and state are still those of the first (unlocked) read: of two
        runs adopting the same row at once exactly one takes it, and the other skips it."""
        check_run_id(run_id)
        now = now or utc_now()
        adopted: list[str] = []
        with self._tx() as conn:
            seen = conn.execute(
                select(subjects.c.subject_hash, subjects.c.run_id, subjects.c.state).where(
                    *where, subjects.c.run_id != run_id
                )
            ).all()
            for subject_hash, owner, state in seen:
                row = select_locked(conn, subject_hash)
                if (row["run_id"], row["state"]) != (owner, state):
                    continue  # another run adopted or moved it after our first read
                conditional_update(conn, row, {"run_id": run_id, "updated_at": now})
                adopted.append(subject_hash)
        return tuple(adopted)

    def _replan(self, conn, row, plan: SubjectPlan | None, run_id, dry_run, now, outcome: _Outcome) -> None:
        subject_hash, state = row["subject_hash"], S(row["state"])
        if state == S.VERIFIED and not (
            _returned_after_erasure(row, plan) or _delete_after_update(row, plan)
        ):
            outcome.skipped.append(
                SkippedSubject(subject_hash, row["run_id"], row["completed_at"], row["final_at"])
            )
            return
        if state == S.NEEDS_REVIEW:
            # its attempts are used up: planning it again would only post the same failing request
            outcome.needs_review.append(subject_hash)
            return
        if state in IN_FLIGHT_STATES:
            outcome.in_progress.append(subject_hash)
            return
        if dry_run:
            if state != S.DRY_RUN:
                outcome.untouched.append(subject_hash)
                return
            transition(conn, row, S.DRY_RUN, {"run_id": run_id}, now)
            outcome.planned.append(subject_hash)
            return
        previous = S(row["previous_state"]) if row["previous_state"] else None
        if state == S.OVERDUE and previous in (S.SUBMITTED, S.COMPLETED):
            transition(conn, row, previous, {"run_id": run_id}, now)
            outcome.resumed.append(subject_hash)
            return
        values: dict[str, Any] = {"run_id": run_id, "final_at": None, "reason": None}
        if state == S.VERIFIED:
            # a returning customer: a fresh erasure with its own attempts; the earlier request stays in
            # the request history (and in that run's signed evidence)
            values["attempts"] = 0
        if plan is not None:
            values.update(
                sealed_identifiers=plan.sealed_identifiers,
                identifier_set=sorted(h.identifier_hash for h in plan.identifier_hashes),
                conversation_ids=list(dict.fromkeys([*row["conversation_ids"], *plan.conversation_ids])),
                source=plan.source.value,
                request_type=plan.request_type,
                warehouse_pending=plan.warehouse_pending,
            )
            for name in ("ticket", "received_on", "due_date"):
                if getattr(plan, name) is not None:
                    values[name] = getattr(plan, name)
        elif row["sealed_identifiers"] is None:
            raise LedgerError(f"subject {subject_hash[:16]}… has no sealed identifiers; plan it afresh")
        transition(conn, row, S.PLANNED, values, now)
        outcome.planned.append(subject_hash)

    def reseal(self, subject_hash: str, token: str, *, owner: str, now=None) -> None:
        """Replace the sealed token of a subject `owner` planned and has not submitted yet (the plan's
        decision which shared headers its request names rides in the token). Raises `NotOwned` if
        another run owns it, `IllegalTransition` unless it is still `planned`."""
        if not token:
            raise ValueError("token: a planned subject keeps its sealed identifiers")
        with self._tx() as conn:
            row = _owned(select_locked(conn, subject_hash), owner)
            if row["state"] != S.PLANNED.value:
                # a token a request was (or may have been) built from must stay what reconciliation reads
                raise IllegalTransition(subject_hash, row["state"], S.PLANNED)
            conditional_update(conn, row, {"sealed_identifiers": token, "updated_at": now or utc_now()})

    # ---- submission -----------------------------------------------------------------------------

    def mark_submitting(self, subject_hash: str, run_id: str, *, now=None) -> LedgerRow:
        """Claim the subject for one POST, BEFORE posting. Raises `SubmissionRefused` when another run
        (or an earlier attempt) holds it: the caller must then NOT post."""
        check_run_id(run_id)
        now = now or utc_now()
        with self._tx() as conn:
            result = conn.execute(
                update(subjects)
                .where(
                    subjects.c.subject_hash == subject_hash,
                    subjects.c.state.in_([s.value for s in SUBMITTABLE_STATES]),
                    subjects.c.sealed_identifiers.is_not(None),
                    # only the run that planned it: another run may have re-planned it with its own
                    # request type, which this run's approval never covered
                    subjects.c.run_id == run_id,
                )
                .values(
                    state=S.SUBMITTING.value,
                    previous_state=subjects.c.state,
                    run_id=run_id,
                    attempts=subjects.c.attempts + 1,
                    submitting_at=now,
                    updated_at=now,
                    reason=None,
                )
            )
            if result.rowcount == 1:
                return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]
            row = select_locked(conn, subject_hash)
            if row["run_id"] != run_id:
                raise SubmissionRefused(subject_hash, row["state"], S.SUBMITTING)
            if S(row["state"]) in SUBMITTABLE_STATES:
                raise LedgerError(f"subject {subject_hash[:16]}… has no sealed identifiers to submit")
            raise SubmissionRefused(subject_hash, row["state"], S.SUBMITTING)

    def release_claim(self, subject_hash: str, run_id: str, reason: str, *, now=None) -> LedgerRow:
        """Genesys refused the POST without creating a request (429: a quota): the claim goes back to
        `planned` and the attempt is not counted, so the subject can be posted later, once."""
        check_run_id(run_id)
        now = now or utc_now()
        with self._tx() as conn:
            result = conn.execute(
                update(subjects)
                .where(
                    subjects.c.subject_hash == subject_hash,
                    subjects.c.state == S.SUBMITTING.value,
                    subjects.c.run_id == run_id,
                )
                .values(
                    state=S.PLANNED.value,
                    previous_state=S.SUBMITTING.value,
                    attempts=subjects.c.attempts - 1,
                    submitting_at=None,
                    updated_at=now,
                    reason=check_reason(reason),
                )
            )
            if result.rowcount != 1:
                row = select_locked(conn, subject_hash)
                raise IllegalTransition(subject_hash, row["state"], S.PLANNED)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def record_submission(self, subject_hash: str, request_id: str, *, status: str | None = None, now=None):
        """The POST answered: remember the Genesys request id (appended to the subject's history)."""
        check_id(request_id, "request_id")
        now = now or utc_now()
        with self._tx() as conn:
            row = select_locked(conn, subject_hash)
            check_transition(subject_hash, row["state"], S.SUBMITTED)
            record_request(conn, row, request_id, "posted", now)
            transition(conn, row, S.SUBMITTED, submitted_values(request_id, status, now), now)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def reconcile_unknown_submissions(
        self,
        known_requests: Iterable[KnownRequest | tuple],
        *,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        only: Iterable[str] | None = None,
        now=None,
    ) -> ReconcileOutcome:
        """Resolve rows stuck in `submitting` (a crash between the POST and the ledger write) from the
        GDPR requests Genesys already has, each given with the keyed hashes of its subject's identifiers:
        a matching request is recorded instead of posting again, rows without one go back to `planned`
        (safe to submit). `only` limits it to those subjects (a retried task settles its own claims).
        Matching rules: `ledger_reconcile`."""
        known = [KnownRequest.coerce(k) for k in known_requests]
        with self._tx() as conn:
            return match_stuck_submissions(
                conn, known, stale_after=stale_after, only=only, now=now or utc_now()
            )

    def record_status(self, subject_hash: str, request_id: str, status: str, *, now=None) -> LedgerRow:
        """A polled Genesys status of the subject's latest request. COMPLETED -> `completed` (awaiting
        verification), ERROR -> `failed`; any other (or unknown) status keeps the row where it is."""
        status = check_id(status, "status").strip().upper()
        now = now or utc_now()
        with self._tx() as conn:
            row = select_locked(conn, subject_hash)
            if row["last_request_id"] != request_id:
                raise LedgerError(
                    f"subject {subject_hash[:16]}…: status for a request that is not its latest"
                )
            state = S(row["state"])
            if status == row["last_genesys_status"] and state != S.SUBMITTED:
                pass  # a repeated poll of a status already acted on
            elif status == GENESYS_COMPLETED and state != S.COMPLETED:
                transition(conn, row, S.COMPLETED, {"last_genesys_status": status, "completed_at": now}, now)
            elif status == GENESYS_ERROR:
                transition(
                    conn, row, S.FAILED, {"last_genesys_status": status, "reason": "genesys_error"}, now
                )
            elif state in (S.SUBMITTED, S.OVERDUE, S.COMPLETED):
                conditional_update(conn, row, {"last_genesys_status": status, "updated_at": now})
            else:
                check_transition(subject_hash, state, S.SUBMITTED)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def record_error(
        self,
        subject_hash: str,
        request_id: str,
        *,
        max_attempts: int = 2,
        review_after_attempts: int | None = None,
        now=None,
    ) -> LedgerRow:
        """Genesys reported ERROR for the subject's latest request: back to `planned` (sealed identifiers
        kept) for one more POST while fewer than `max_attempts` were made, otherwise `failed`, or
        `needs_review` once `review_after_attempts` POSTs were made over all runs. A `failed` subject
        keeps its sealed identifiers for the next nightly run's retry when a bound was given."""
        now = now or utc_now()
        with self._tx() as conn:
            row = select_locked(conn, subject_hash)
            if row["last_request_id"] != request_id:
                raise LedgerError(
                    f"subject {subject_hash[:16]}…: status for a request that is not its latest"
                )
            values = {"last_genesys_status": GENESYS_ERROR}
            if row["attempts"] < max_attempts:
                transition(conn, row, S.PLANNED, {**values, "reason": "genesys_error_resubmitting"}, now)
            else:
                target = _failed_or_review(row, review_after_attempts)
                transition(
                    conn,
                    row,
                    target,
                    {**values, "reason": "genesys_error"},
                    now,
                    retryable=review_after_attempts is not None,
                )
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    # ---- outcomes -------------------------------------------------------------------------------

    def mark_verified(
        self, subject_hash: str, result, exemptions: Iterable | None = None, *, owner=None, now=None
    ):
        """Final: Genesys said COMPLETED and independent verification found nothing left.
        `result` is a `verification.VerificationResult`; exemptions default to its legal holds.
        With `owner`, raises `NotOwned` (nothing written) unless that run still owns the subject."""
        if result.status != "verified":
            raise ValueError(
                "result: verification did not pass; use mark_failed, mark_deferred or mark_erasure_pending"
            )
        chosen = result.exemptions if exemptions is None else exemptions
        exempt = [e.to_dict() if hasattr(e, "to_dict") else dict(e) for e in chosen]
        now = now or utc_now()
        with self._tx() as conn:
            row = _owned(select_locked(conn, subject_hash), owner)
            check_transition(subject_hash, row["state"], S.VERIFIED)
            if row["last_genesys_status"] != GENESYS_COMPLETED:
                raise LedgerError(f"subject {subject_hash[:16]}…: Genesys has not reported COMPLETED")
            values = {"verification": result.to_dict(), "exemptions": json_ready(exempt, "exemptions")}
            transition(conn, row, S.VERIFIED, {**values, "reason": None}, now)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def mark_failed(
        self,
        subject_hash: str,
        reason: str,
        *,
        verification=None,
        review_after_attempts: int | None = None,
        owner: str | None = None,
        now=None,
    ) -> LedgerRow:
        """`failed` (a later run may plan it again), or `needs_review` (final; never planned again) when
        the subject has had `review_after_attempts` POSTs over all runs. With a bound, a `failed` subject
        keeps its sealed identifiers: the next nightly run retries it (`retry_failed_into`). None = no
        bound, and no retry: the identifiers are wiped. With `owner`, raises `NotOwned` (nothing
        written) unless that run still owns the subject."""
        values: dict[str, Any] = {"reason": check_reason(reason)}
        if verification is not None:
            values["verification"] = verification.to_dict()
        now = now or utc_now()
        with self._tx() as conn:
            row = _owned(select_locked(conn, subject_hash), owner)
            target = _failed_or_review(row, review_after_attempts)
            transition(conn, row, target, values, now, retryable=review_after_attempts is not None)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def mark_erasure_pending(
        self, subject_hash: str, result, reason: str, *, owner: str | None = None, now=None
    ) -> LedgerRow:
        """Genesys said COMPLETED and nothing readable is left, but part of the delete has not shown yet
        (`result.pending`). Sealed identifiers are kept for the re-check by a later run. With `owner`,
        raises `NotOwned` (nothing written) unless that run still owns the subject."""
        if result.status != "erasure_pending":
            raise ValueError("result: not an erasure-pending verification")
        return self._after_completed(subject_hash, S.ERASURE_PENDING, result, reason, owner, now)

    def mark_needs_review(
        self, subject_hash: str, result, reason: str, *, owner: str | None = None, now=None
    ) -> LedgerRow:
        """Final until a person decides: Genesys said COMPLETED and verification found nothing the delete
        should have erased left, but something it deliberately did not name (`result.shared_findings`:
        a value shared with a person not erased, and the recordings of a conversation holding the subject
        only there). Posting again would not change it; a person must."""
        if result.status != "shared_residue":
            raise ValueError("result: not a verification that left only values shared with others")
        return self._after_completed(subject_hash, S.NEEDS_REVIEW, result, reason, owner, now)

    def _after_completed(self, subject_hash, target: SubjectState, result, reason, owner, now) -> LedgerRow:
        """Record a verification outcome that needs Genesys' COMPLETED first (only while `owner` still
        owns the subject, when given)."""
        now = now or utc_now()
        with self._tx() as conn:
            row = _owned(select_locked(conn, subject_hash), owner)
            if row["last_genesys_status"] != GENESYS_COMPLETED:
                raise LedgerError(f"subject {subject_hash[:16]}…: Genesys has not reported COMPLETED")
            values = {"verification": result.to_dict(), "reason": check_reason(reason)}
            transition(conn, row, target, values, now)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def mark_deferred(
        self,
        subject_hash: str,
        reason: str = "active_conversation",
        *,
        conversation_ids: Iterable[str] = (),
        verification=None,
        owner: str | None = None,
        now=None,
    ) -> LedgerRow:
        values: dict[str, Any] = {"reason": check_reason(reason)}
        if verification is not None:
            values["verification"] = verification.to_dict()
        return self._move(
            subject_hash, S.DEFERRED, values, now, add_conversations=conversation_ids, owner=owner
        )

    def mark_overdue(self, subject_hash: str, *, reason: str = "deadline_passed", now=None) -> LedgerRow:
        return self._move(subject_hash, S.OVERDUE, {"reason": check_reason(reason)}, now)

    def mark_quarantined(self, subject_hash: str, reason: str, *, now=None) -> LedgerRow:
        return self._move(subject_hash, S.QUARANTINED, {"reason": check_reason(reason)}, now)

    def _move(
        self, subject_hash, target, values, now, add_conversations: Iterable[str] = (), owner=None
    ) -> LedgerRow:
        now = now or utc_now()
        with self._tx() as conn:
            row = _owned(select_locked(conn, subject_hash), owner)
            extra = [check_id(c, "conversation_ids[]") for c in add_conversations]
            if extra:
                values = {
                    **values,
                    "conversation_ids": list(dict.fromkeys([*row["conversation_ids"], *extra])),
                }
            transition(conn, row, target, values, now)
            return load_rows(conn, subjects.c.subject_hash == subject_hash)[0]

    def add_conversation_ids(self, subject_hash: str, conversation_ids: Iterable[str], *, now=None) -> None:
        """Remember conversation ids found for the subject (ids only, no content)."""
        extra = [check_id(c, "conversation_ids[]") for c in conversation_ids]
        with self._tx() as conn:
            row = select_locked(conn, subject_hash)
            merged = list(dict.fromkeys([*row["conversation_ids"], *extra]))
            conditional_update(conn, row, {"conversation_ids": merged, "updated_at": now or utc_now()})

    def record_warehouse_result(
        self, subject_hash: str, rows_affected: Mapping[str, Any], *, now=None
    ) -> None:
        """The warehouse step finished for the subject: keep its per-table result and, if the subject is
        already final, wipe the sealed identifiers it was keeping for that step."""
        result = json_ready(dict(rows_affected), "rows_affected")
        # a failed subject's token is for its retry (kept or wiped by the transition), not this step's
        final = [s.value for s in FINAL_STATES - RETRY_STATES]
        with self._tx() as conn:
            select_locked(conn, subject_hash)
            conn.execute(
                update(subjects)
                .where(subjects.c.subject_hash == subject_hash)
                .values(
                    warehouse_rows=result,
                    warehouse_pending=False,
                    sealed_identifiers=case(
                        (subjects.c.state.in_(final), None), else_=subjects.c.sealed_identifiers
                    ),
                    updated_at=now or utc_now(),
                )
            )

    def release_unsubmitted(self, run_id: str, *, reason: str = "not_submitted", now=None) -> tuple[str, ...]:
        """Subjects `run_id` planned but never submitted (its approval was rejected, or it stopped before
        submitting): their sealed identifiers are wiped now rather than kept until some later run. The
        rows stay `planned`, with the reason; a later run re-plans them with fresh identifiers."""
        check_run_id(run_id)
        now = now or utc_now()
        with self._tx() as conn:
            hashes = conn.scalars(
                select(subjects.c.subject_hash).where(
                    subjects.c.run_id == run_id,
                    subjects.c.state == S.PLANNED.value,
                    subjects.c.sealed_identifiers.is_not(None),
                )
            ).all()
            if hashes:
                conn.execute(
                    update(subjects)
                    .where(subjects.c.subject_hash.in_(hashes), subjects.c.state == S.PLANNED.value)
                    .values(sealed_identifiers=None, reason=check_reason(reason), updated_at=now)
                )
        return tuple(hashes)

    def record_external_erasure(
        self, plan: SubjectPlan, request_id: str, run_id: str, *, completed_at=None, now=None
    ) -> bool:
        """An erasure made outside this pipeline that Genesys reports COMPLETED: a new `completed` row
        (source external, the request id recorded), awaiting verification and the warehouse step.
        False, and nothing written, when the subject or the request is already in the ledger
        (`ledger_external`)."""
        now = now or utc_now()
        with self._tx() as conn:
            return insert_external_erasure(conn, plan, request_id, run_id, completed_at or now, now)


class NotOwned(LedgerError):
    """The subject belongs to another run now (it adopted the row): this run's result is not written."""

    def __init__(self, subject_hash: str) -> None:
        super().__init__(f"subject {subject_hash[:16]}… is owned by another run now")
        self.subject_hash = subject_hash


def _owned(row, owner: str | None):
    """The locked row, if `owner` is None or still owns it; the check and the write share one lock."""
    if owner is not None and row["run_id"] != owner:
        raise NotOwned(row["subject_hash"])
    return row


def _held_by_another_run(row, plan: SubjectPlan, run_id: str, held_since: datetime) -> bool:
    """A `planned` row another DAG's run may still submit: it holds sealed identifiers (not released)
    and was planned after `held_since`. A run of the same source is not such a run: each DAG allows one
    active run, so a planned row of an earlier run of the same DAG is that dead run's leftover."""
    if row["state"] != S.PLANNED.value or row["run_id"] == run_id or row["sealed_identifiers"] is None:
        return False
    if row["source"] == plan.source.value:
        return False
    updated = row["updated_at"] if row["updated_at"].tzinfo else row["updated_at"].replace(tzinfo=UTC)
    return updated > held_since


def _returned_after_erasure(row, plan: SubjectPlan | None) -> bool:
    """The scan saw the verified subject in contact AFTER Genesys completed its erasure: new data, which
    its retention will expire in turn. A contact at or before the erasure is the analytics lake's stale
    copy of what was erased (as in `steps.scan.drop_erased`), not a reason to erase again."""
    erased_at = row["completed_at"] or row["final_at"]
    if plan is None or plan.last_contact is None or erased_at is None:
        return False
    last = plan.last_contact if plan.last_contact.tzinfo else plan.last_contact.replace(tzinfo=UTC)
    return last > erased_at  # the row's times are UTC-aware (UtcDateTime)


def _delete_after_update(row, plan: SubjectPlan | None) -> bool:
    """A delete asked for a subject only pseudonymised so far: a GDPR_UPDATE keeps recordings and entity
    ids, so it does not fulfil an Art. 17 erasure (or the retention purge); the delete is planned."""
    return (
        plan is not None
        and row["request_type"] == GdprRequestType.GDPR_UPDATE
        and plan.request_type == GdprRequestType.GDPR_DELETE
    )


def _failed_or_review(row, review_after_attempts: int | None) -> SubjectState:
    if review_after_attempts is not None and row["attempts"] >= review_after_attempts:
        return S.NEEDS_REVIEW
    return S.FAILED


class _Outcome:
    def __init__(self) -> None:
        self.planned, self.resumed, self.skipped, self.in_progress, self.untouched = [], [], [], [], []
        self.needs_review: list[str] = []
        self.planned_by_another_run: list[str] = []

    def freeze(self) -> PlanOutcome:
        return PlanOutcome(
            tuple(self.planned),
            tuple(self.resumed),
            tuple(self.skipped),
            tuple(self.in_progress),
            tuple(self.untouched),
            tuple(self.needs_review),
            tuple(self.planned_by_another_run),
        )
