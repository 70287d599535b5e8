"""Steps 2 to 4, shared by the nightly purge and the ad-hoc erasure, in four parts that `plan_erasure`
composes: `screen` (own numbers, exclusions, quarantine), `resolve` (identity resolution), `write_plan`
(the safety guards, then the plan into the ledger) and `defer_active` (subjects with an active
conversation wait). Nothing is submitted here.

Everything that can stop a run (the subject cap, the purge fraction) is checked BEFORE the ledger is
written, so a refused run leaves no half-made plan behind.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from genesys_cloud.vocabulary import GdprRequestType
from genesys_erasure.config import PurgeConfig
from genesys_erasure.guards import QuarantinedIdentifier, approval_reason, check_subject_cap, quarantine
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectPlan, SubjectSource, SubjectState, derive_subject_hash
from genesys_erasure.resolution import HoldReason, Resolution, Subject, resolve_subjects
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.directory import GenesysSubjectDirectory, list_users, scan_contacts
from genesys_erasure.steps.reconcile import reconcile_stuck_submissions
from genesys_erasure.steps.retry_failed import (
    FailedRetries,
    apply_failed_retries,
    choose_failed_retries,
    within_cap,
)
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.scan import parse_instant
from genesys_erasure.steps.shared_headers import decide_shared_headers

log = logging.getLogger(__name__)

BATCH_SIZE = 100  # subjects per mapped submission task


def request_satisfied_by(done: str, wanted: str) -> bool:
    """Whether an erasure done with request type `done` fulfils a request for `wanted`: a GDPR_DELETE
    fulfils any request, a GDPR_UPDATE (pseudonymisation: recordings and entity ids are kept) only another
    GDPR_UPDATE, never an Art. 17 delete."""
    return str(done) == str(wanted) or str(done) == str(GdprRequestType.GDPR_DELETE)


@dataclass(frozen=True)
class Seed:
    """An identifier to start identity resolution from, with what the scan knows about it."""

    identifier: Identifier
    conversation_ids: tuple[str, ...] = ()
    conversation_count: int = 0
    stalled: bool = False  # its latest conversation is still active
    # other written forms the identifier is stored in (`tel:+44…`, a national number, a whole e-mail
    # header): named in the GDPR request too, so a delete that matches whole values erases them all
    raw_forms: tuple[str, ...] = ()
    last_contact: datetime | None = None  # the scan's latest contact under this identifier
    # of `conversation_ids`, those whose participant attributes may hold a value (the scan's jobs show
    # attributes); None = not known (an ad-hoc request's detail queries show none): every one may
    attribute_conversation_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PlanRequest:
    seeds: Sequence[Seed]
    source: SubjectSource
    recent: Collection[Identifier] = frozenset()
    request_type: str = "GDPR_DELETE"
    ticket: str | None = None
    received_on: date | None = None
    due_date: date | None = None
    carry_over: bool = False
    # plan the subjects earlier runs left `failed` again (the nightly purge: `steps.retry_failed`)
    retry_failed: bool = False
    hold_staff: bool = True
    replacement: str | None = None  # what a GDPR_UPDATE writes over the identifiers (sealed per subject)
    extra: Mapping[str, Any] = field(default_factory=dict)


def _subject_conversations(subject: Subject, seeds: Mapping[Identifier, Seed]) -> tuple[str, ...]:
    ids: dict[str, None] = {}
    for identifier in sorted(subject.identifiers):
        seed = seeds.get(identifier)
        if seed:
            ids.update(dict.fromkeys(seed.conversation_ids))
    return tuple(ids)


def _subject_attribute_conversations(
    subject: Subject, seeds: Mapping[Identifier, Seed]
) -> tuple[str, ...] | None:
    """The subject's conversations whose attributes may hold a value, or None when a seed does not know."""
    ids: dict[str, None] = {}
    for identifier in sorted(subject.identifiers):
        seed = seeds.get(identifier)
        if seed is None:
            continue
        if seed.attribute_conversation_ids is None:
            return None
        ids.update(dict.fromkeys(seed.attribute_conversation_ids))
    return tuple(ids)


def _count_still_active(
    runtime: ErasureRuntime, client: GenesysClient, conversation_ids: Sequence[str], now: datetime
) -> int:
    """How many of the subject's known conversations are still active. With the idle-disconnect option,
    active conversations that started longer ago than configured are disconnected first (and then no
    longer count): a stuck conversation must not hold an erasure back for ever."""
    if not conversation_ids:
        return 0
    active = [c for c in client.get_conversations_details(conversation_ids) if not c.get("conversationEnd")]
    idle_days = runtime.config.disconnect_idle_active_after_days
    remaining = 0
    for conversation in active:
        start = conversation.get("conversationStart")
        started = parse_instant(start) if start else now  # unknown start: never "idle long enough"
        if idle_days is not None and started < now - timedelta(days=idle_days):
            client.disconnect_conversation(conversation["conversationId"])
            log.info("Disconnected an active conversation idle for more than %d days", idle_days)
        else:
            remaining += 1
    return remaining


@dataclass(frozen=True)
class Screened:
    """The seeds that go on to identity resolution, those held back for a human, and every identifier
    that must never be erased whatever links to it."""

    kept: tuple[Identifier, ...]
    quarantined: tuple[QuarantinedIdentifier, ...]
    excluded: frozenset[Identifier]


@dataclass(frozen=True)
class Resolved:
    """The subjects identity resolution found, with the resolution's own counts."""

    subjects: tuple[Subject, ...]
    resolution: Resolution
    directory_calls: int
    held_staff: int = 0  # staff subjects held (not among `subjects`)


@dataclass(frozen=True)
class WrittenPlan:
    """What the ledger write did: the subjects it planned and those still to check for an active
    conversation (`check_active`)."""

    subjects_planned: int
    quarantined: int
    carried: tuple[str, ...]
    adopted: tuple[str, ...]
    already_erased: int
    check_active: tuple[str, ...]
    needs_review: int = 0  # subjects whose erasure attempts are used up: left for a person, not planned
    planned_by_another_run: int = 0  # subjects another DAG's run planned and may still submit: left to it
    retried_failed: tuple[str, ...] = ()  # subjects earlier runs left failed, planned again
    failed_not_retried: Mapping[str, int] = field(default_factory=dict)  # per reason code


def screen(config: PurgeConfig, seeds: Mapping[Identifier, Seed]) -> Screened:
    """Quarantine implausibly busy seeds (a switchboard, a shared mailbox) and collect the identifiers
    never to erase: the quarantined seeds, our own numbers and addresses, and the configured exclusions."""
    screened = quarantine(
        seeds,
        conversation_counts={i: s.conversation_count for i, s in seeds.items()},
        conversation_threshold=config.quarantine_conversation_threshold,
        subject_threshold=config.quarantine_subject_threshold,
    )
    excluded = (
        {q.identifier for q in screened.quarantined} | set(config.own_identifiers) | set(config.exclusions)
    )
    return Screened(tuple(screened.kept), tuple(screened.quarantined), frozenset(excluded))


def _staff_named(subject: Subject, named: Collection[Identifier]) -> bool:
    """Whether every user id of a staff subject is one the request names itself."""
    return all(i in named for i in subject.identifiers if i.kind is IdentifierKind.USER)


def resolve(runtime: ErasureRuntime, screened: Screened, request: PlanRequest) -> Resolved:
    """Identity resolution: merge each kept seed with everything Genesys links to it into subjects.
    Subjects with a recent contact are held; staff are held too, unless the request erases staff and
    names every user id of the subject among its seeds."""
    config = runtime.config
    # every seed is looked up at least once: from enough of them, one scan of all contacts is cheaper
    snapshot, scan_calls = scan_contacts(runtime.client, len(screened.kept), config.contact_scan_from_lookups)
    # with every contact at hand, the users listed once replace the GDPR subject search per identifier
    users, user_calls = list_users(runtime.client) if snapshot is not None else (None, 0)
    directory = GenesysSubjectDirectory(runtime.client, snapshot, users)
    directory.calls += scan_calls + user_calls
    resolution = resolve_subjects(
        screened.kept,
        directory,
        hasher=runtime.hasher,
        recent=request.recent,
        max_depth=config.resolution_depth,
        max_links_per_identifier=config.quarantine_subject_threshold,
        max_records_per_lookup=max(50, config.quarantine_subject_threshold),
        default_region=config.default_phone_region,
        # a directory record may name a quarantined seed or one of our own numbers: never erase it
        excluded=screened.excluded,
    )
    subjects = list(resolution.to_purge)
    staff_held = resolution.held_for(HoldReason.STAFF)
    if not request.hold_staff:
        # Only staff the request itself names by user id are erased: a user id that came in through a
        # directory record (an agent sharing a number with the customer) keeps its subject held.
        named = {seed.identifier for seed in request.seeds}
        erasable = [s for s in staff_held if _staff_named(s, named)]
        subjects += erasable
        staff_held = tuple(s for s in staff_held if s not in erasable)
    log.info(
        "Identity resolution: %d seeds -> %d subjects to erase (%d lookups, %d API calls); held: %d recent "
        "contact, %d staff; quarantined: %d",
        len(request.seeds),
        len(subjects),
        resolution.lookups,
        directory.calls,
        len(resolution.held_for(HoldReason.RECENT_CONTACT)),
        len(staff_held),
        len(screened.quarantined) + len(resolution.quarantined),
    )
    return Resolved(tuple(subjects), resolution, directory.calls, held_staff=len(staff_held))


def _last_contact(subject, seeds: Mapping[Identifier, Seed]) -> datetime | None:
    moments = [seeds[i].last_contact for i in subject.identifiers if i in seeds and seeds[i].last_contact]
    return max(moments, default=None)


def write_plan(
    runtime: ErasureRuntime,
    run_id: str,
    request: PlanRequest,
    seeds: Mapping[Identifier, Seed],
    screened: Screened,
    resolved: Resolved,
    now: datetime,
) -> WrittenPlan:
    """Apply the subject cap, then write the plan: every subject `planned` (or `dry_run`), every
    quarantined identifier `quarantined`, earlier runs' leftovers carried over and requests left in
    flight adopted. The cap is checked before anything is written, so a refused run leaves no half-made
    plan behind."""
    config, dry_run = runtime.config, runtime.config.dry_run
    subjects, held_for_review = _without_identifiers_awaiting_review(runtime, resolved.subjects)
    # a dry run touches no real row, so it retries nothing
    retries = (
        _failed_retries(runtime, request, subjects, screened, resolved)
        if request.retry_failed and not dry_run
        else FailedRetries()
    )
    retries = within_cap(retries, config.max_subjects_per_run - len(subjects))
    check_subject_cap(len(subjects) + len(retries.retry), config.max_subjects_per_run)
    warehouse_pending = bool(config.warehouse_mapping_path) and not dry_run
    plans, stalled_hashes = [], set()
    for subject in subjects:
        plan = SubjectPlan.build(
            subject.identifiers,
            hasher=runtime.hasher,
            sealer=runtime.sealer,
            source=request.source,
            conversation_ids=_subject_conversations(subject, seeds),
            request_type=request.request_type,
            ticket=request.ticket,
            received_on=request.received_on,
            due_date=request.due_date,
            warehouse_pending=warehouse_pending,
            raw_forms={i: seeds[i].raw_forms for i in subject.identifiers if i in seeds},
            last_contact=_last_contact(subject, seeds),
            replacement=request.replacement if request.request_type == "GDPR_UPDATE" else None,
            attribute_conversation_ids=_subject_attribute_conversations(subject, seeds),
        )
        plans.append(plan)
        if any(seeds[i].stalled for i in subject.identifiers if i in seeds):
            stalled_hashes.add(plan.subject_hash)
    quarantined_plans = [
        (
            SubjectPlan.build(
                [q.identifier], hasher=runtime.hasher, sealer=runtime.sealer, source=request.source
            ),
            f"{q.reason.value}: {q.observed} > {q.threshold}",
        )
        for q in (*screened.quarantined, *resolved.resolution.quarantined)
    ]

    ledger = runtime.ledger
    if not dry_run:
        reconcile_stuck_submissions(runtime, ledger)
    outcome = ledger.plan(
        [p for p, _ in quarantined_plans] + plans,
        run_id,
        dry_run=dry_run,
        # another DAG's run waiting (for approval, for Genesys) keeps its subjects as long as it may wait
        other_run_hold=timedelta(days=runtime.config.wait_deadline_days),
        now=now,
    )
    planned = set(outcome.planned)
    for plan, reason in quarantined_plans:
        if plan.subject_hash in planned:
            ledger.mark_quarantined(plan.subject_hash, reason, now=now)
    carried, adopted = (), ()
    if request.carry_over and not dry_run:
        carried_outcome = ledger.carry_over_into(run_id, now=now)
        carried = carried_outcome.planned
        adopted = carried_outcome.resumed
    retried = () if dry_run else apply_failed_retries(runtime, run_id, retries, now)
    if not dry_run:
        # Requests a dead run of the same source (or a reconciled crash) left in flight: wait for and
        # verify them here. Safe because each DAG allows one active run, and each adopts its own source.
        adopted = (*adopted, *ledger.adopt_in_flight(run_id, source=request.source, now=now))
    return WrittenPlan(
        subjects_planned=len(plans),
        quarantined=len(quarantined_plans),
        carried=tuple(carried),
        adopted=tuple(adopted),
        already_erased=len(outcome.skipped_verified),
        check_active=(*(stalled_hashes & planned), *carried, *retried),
        needs_review=len(set(outcome.needs_review)) + held_for_review + len(retries.give_up),
        planned_by_another_run=len(set(outcome.planned_by_another_run)),
        retried_failed=retried,
        failed_not_retried=retries.not_retried,
    )


def _failed_retries(
    runtime: ErasureRuntime,
    request: PlanRequest,
    subjects: Sequence[Subject],
    screened: Screened,
    resolved: Resolved,
) -> FailedRetries:
    """Which failed subjects of earlier runs tonight plans again, under the guards of a fresh plan: the
    same exclusions and quarantine, the recent-contact guard, and tonight's subjects taking precedence."""
    hasher, config = runtime.hasher, runtime.config
    screened_out = (*screened.quarantined, *resolved.resolution.quarantined)
    return choose_failed_retries(
        runtime,
        recent=request.recent,
        fresh_subject_hashes={derive_subject_hash(s.identifiers, hasher) for s in subjects},
        fresh_identifier_hashes={hasher.hash_identifier(i) for s in subjects for i in s.identifiers},
        excluded=(*config.own_identifiers, *config.exclusions),
        quarantined=[q.identifier for q in screened_out],
    )


def _without_identifiers_awaiting_review(
    runtime: ErasureRuntime, subjects: Sequence[Subject]
) -> tuple[list[Subject], int]:
    """The subjects none of whose identifiers belongs to a subject left `needs_review`, and how many were
    held back. A person decides about those identifiers: a subject resolved differently tonight (after a
    delete resolution reaches fewer of a person's identifiers, so its hash moves) must not post again what
    a person is to look at, night after night."""
    hasher = runtime.hasher
    hashes = [{hasher.hash_identifier(i) for i in subject.identifiers} for subject in subjects]
    awaiting = runtime.ledger.identifier_hashes_awaiting_review(set().union(*hashes))
    kept = [subject for subject, mine in zip(subjects, hashes, strict=True) if not mine & awaiting]
    if len(kept) < len(subjects):
        log.info(
            "%d subject(s) share an identifier with a subject awaiting review: not planned",
            len(subjects) - len(kept),
        )
    return kept, len(subjects) - len(kept)


def defer_active(runtime: ErasureRuntime, subject_hashes: Iterable[str], now: datetime) -> int:
    """Subjects with a conversation still active are deferred (a GDPR delete skips active conversations),
    unless the idle-disconnect option ends those conversations first. Returns how many were deferred."""
    ledger = runtime.ledger
    deferred = 0
    for subject_hash in sorted(set(subject_hashes)):
        row = ledger.get(subject_hash)
        if row is None or row.state is not SubjectState.PLANNED:
            continue
        if _count_still_active(runtime, runtime.client, row.conversation_ids, now):
            ledger.mark_deferred(subject_hash, reason="active_conversation", now=now)
            deferred += 1
    return deferred


def plan_erasure(runtime: ErasureRuntime, run_id: str, request: PlanRequest, now: datetime) -> dict[str, Any]:
    """Screen the seeds, resolve them into subjects, write the plan and defer subjects with an active
    conversation. Returns the plan summary (counts and keyed hashes only) with the batches to submit."""
    config, dry_run = runtime.config, runtime.config.dry_run
    seeds = {seed.identifier: seed for seed in request.seeds}
    screened = screen(config, seeds)
    resolved = resolve(runtime, screened, request)
    written = write_plan(runtime, run_id, request, seeds, screened, resolved, now)
    deferred = defer_active(runtime, written.check_active, now)
    # A dry run plans the same subjects (state dry_run) and reports them, but never submits them.
    wanted = SubjectState.DRY_RUN if dry_run else SubjectState.PLANNED
    to_submit = sorted(row.subject_hash for row in runtime.ledger.rows_for_run(run_id) if row.state is wanted)
    # Only now is the submission final (deferred and skipped subjects are out), so only now can a header
    # shared by several of its subjects be allowed into their requests. A dry run seals nothing.
    shared = {} if dry_run else decide_shared_headers(runtime, run_id, to_submit)
    resolution = resolved.resolution
    # first contact: until a person has approved one run that submits, every such run waits for one
    waits_for = (
        None
        if dry_run
        else approval_reason(
            len(to_submit), config.approval_threshold, runtime.ledger.first_approval() is not None
        )
    )
    summary = {
        "run_id": run_id,
        "dry_run": dry_run,
        "seeds": len(seeds),
        "subjects_planned": written.subjects_planned,
        "carried_over": len(written.carried),
        "adopted_in_flight": len(written.adopted),
        "to_submit": len(to_submit),
        "deferred_active_conversation": deferred,
        "quarantined": written.quarantined,
        "held_recent_contact": len(resolution.held_for(HoldReason.RECENT_CONTACT)),
        "held_staff": resolved.held_staff,
        "already_erased": written.already_erased,
        "needs_review": written.needs_review,
        "planned_by_another_run": written.planned_by_another_run,
        "retried_failed": len(written.retried_failed),
        "failed_not_retried": dict(written.failed_not_retried),
        "identity_lookups": resolution.lookups,
        # search hits left out because they did not hold the looked-up value (free-text search noise)
        "unrelated_records": resolution.unrelated_records,
        # of the quarantined identifiers, those whose search answered only part of its matches
        "incomplete_lookups": resolution.incomplete_lookups,
        "needs_approval": waits_for is not None,
        "approval_reason": str(waits_for) if waits_for else None,
        # per subject request: e-mail headers also listing another subject of this submission (named) or
        # somebody it does not erase (left in place; verification reports them as such)
        "shared_headers_named": shared.get("shared_headers_named", 0),
        "shared_headers_withheld": shared.get("shared_headers_withheld", 0),
        "batches": [to_submit[i : i + BATCH_SIZE] for i in range(0, len(to_submit), BATCH_SIZE)],
        **dict(request.extra),
    }
    log.info(
        "Plan: %d to submit in %d batches (%d failed earlier, planned again), %d deferred, %d quarantined "
        "(%d for an incomplete search), %d already erased, %d needing review, %d left to another run's plan; "
        "%d unrelated search records left out%s",
        len(to_submit),
        len(summary["batches"]),
        len(written.retried_failed),
        deferred,
        written.quarantined,
        resolution.incomplete_lookups,
        written.already_erased,
        written.needs_review,
        written.planned_by_another_run,
        resolution.unrelated_records,
        " (dry run: nothing will be submitted)" if dry_run else "",
    )
    return summary


def batches_once_approved(runtime: ErasureRuntime, plan: dict[str, Any], now: datetime) -> list[list[str]]:
    """The plan's batches to submit (none for a dry run). A plan that waited for a person reaches this
    step only once approved (a rejection skips it), so its approval ends the org's first contact: the
    ledger records the instant, and later runs wait only when larger than `approval_threshold`."""
    if plan["dry_run"]:
        return []
    if plan["needs_approval"]:
        runtime.ledger.record_approval(now)
    return plan["batches"]
