"""Step 1 of the nightly purge: find the customers whose LAST contact is older than the retention cutoff.

Two reads and one index:
1. an analytics details job over the window that newly expired since the last run (all history before
   the cutoff on the first run or in backfill mode): the candidates, with their raw values, in an
   in-memory `ContactIndex`;
2. the last-contact index in the ledger's database (`steps.last_contacts`): per identifier, as a keyed
   hash, the day of its latest contact. Built once over the whole retention window, then each night it
   folds only the days that became available since (an analytics job from its watermark, minus the
   overlap for late conversations) and the detail queries past `dataAvailabilityDate` (jobs lag behind
   by up to ~48 hours). A candidate the index shows with a later contact is recent, not expired; so is
   anybody identity resolution links to such an identifier (`RecentContacts`).
The raw result goes into the run workspace (encrypted), with each identifier's raw stored forms (which the
GDPR request must name); XCom gets counts only.

Identifiers the ledger already erased are dropped before planning when everything the scan saw of them
predates the erasure: the analytics lake may show erased customers with their old values for a while, and
they must neither be planned again nor count towards the purge-fraction guard (`drop_erased`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from genesys_erasure.derivation import ContactIndex, ContactSummary
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.last_contacts import day_start, decide_candidates, refresh_last_contacts
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

SCAN_HANDOFF = "scan"
WATERMARK_MARKER = "retention_scan_watermark"
HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)
JOB_PAGE_SIZE = 1000


def interval(start: datetime, end: datetime) -> str:
    return f"{_iso(start)}/{_iso(end)}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def scan_window_start(runtime: ErasureRuntime, watermark: str | None, cutoff: datetime) -> datetime:
    """Where the candidate scan starts: the start of the last run's cutoff day minus an overlap, or all
    history. The whole day: the last-contact index counts a contact on the cutoff's day as recent, so a
    customer last seen earlier that day becomes a candidate only on the next night."""
    if runtime.config.backfill or watermark is None:
        return HISTORY_START
    start = day_start(parse_instant(watermark)) - timedelta(days=runtime.config.scan_overlap_days)
    return min(start, cutoff)


def utc_day(moment: datetime) -> datetime:
    """The UTC midnight that starts `moment`'s day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _job_conversations(
    client: GenesysClient, start: datetime, end: datetime, label: str
) -> Iterator[dict[str, Any]]:
    body = {"interval": interval(start, end), "order": "asc"}
    read = 0
    pages = client.run_conversation_details_job(body, page_size=JOB_PAGE_SIZE)
    for number, page in enumerate(pages, start=1):
        read += len(page.conversations)
        log.info("%s: page %d read, %d conversations so far", label, number, read)
        yield from page.conversations


def _recent_conversations(client: GenesysClient, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """Detail queries from `start` to `end`, one per UTC day: a query reads whole UTC days (it returns
    every conversation started on a day its interval touches, and its 7-day limit may count those days),
    and a day alone keeps each query as shallow as the API pages (a cap on paging depth is plausible)."""
    slice_start = start
    while slice_start < end:
        slice_end = min(end, utc_day(slice_start) + timedelta(days=1))
        yield from client.iter_conversation_details({"interval": interval(slice_start, slice_end)})
        slice_start = slice_end


def drop_erased(
    runtime: ErasureRuntime, index: ContactIndex, cutoff: datetime
) -> tuple[list[ContactSummary], list[ContactSummary], int]:
    """The expired and stalled customers without those the ledger already erased, and how many customers
    seen (expired, stalled or recent) were erased: contacts the scan saw from before the erasure are the
    lake's stale copy, not new data. A contact after the erasure makes the identifier a customer again."""
    expired, stalled = index.expired(cutoff), index.stalled(cutoff)
    hashes = {
        runtime.hasher.hash_identifier(i): i
        for i in (*(s.identifier for s in (*expired, *stalled)), *index.recent(cutoff))
    }
    gone = set()
    for identifier_hash, erased_at in runtime.ledger.erased_identifier_hashes(hashes).items():
        summary = index.summary(hashes[identifier_hash])
        last_contact = summary.last_contact if summary else None
        if last_contact is None or last_contact <= erased_at:
            gone.add(hashes[identifier_hash])
    return (
        [s for s in expired if s.identifier not in gone],
        [s for s in stalled if s.identifier not in gone],
        len(gone),
    )


def _summary_payload(summaries: Iterable[ContactSummary]) -> list[dict[str, Any]]:
    return [
        {
            "kind": s.identifier.kind.value,
            "value": s.identifier.value,
            "last_contact": s.last_contact.isoformat() if s.last_contact else None,
            "conversation_count": s.conversation_count,
            "conversation_ids": list(s.conversation_ids),
            "raw_forms": list(s.raw_forms),
            "raw_forms_dropped": s.raw_forms_dropped,
            "attribute_conversation_ids": list(s.attribute_conversation_ids),
        }
        for s in summaries
    ]


def find_expired_customers(runtime: ErasureRuntime, run_id: str, now: datetime) -> dict[str, Any]:
    config = runtime.config
    cutoff = config.retention_cutoff(now)
    workspace = runtime.workspace()
    window_start = scan_window_start(runtime, workspace.get_marker(WATERMARK_MARKER), cutoff)
    client = runtime.client
    index = ContactIndex(
        own_identifiers=config.own_identifiers,
        exclusions=config.exclusions,
        default_region=config.default_phone_region,
        conversation_id_cap=config.conversation_ids_per_identifier,
    )
    availability = client.get_data_availability().get("dataAvailabilityDate")
    available_until = min(parse_instant(availability), now) if availability else now - timedelta(days=2)
    log.info(
        "Retention cutoff %s; candidate window %s .. cutoff; jobs see data until %s",
        cutoff.date(),
        window_start.date(),
        available_until.isoformat(),
    )
    if window_start < cutoff:
        index.add_all(_job_conversations(client, window_start, cutoff, "candidates (before cutoff)"))
    refresh = refresh_last_contacts(
        runtime,
        cutoff=cutoff,
        available_until=available_until,
        now=now,
        candidates=index,
        read_job=lambda start, end: _job_conversations(client, start, end, "later contacts (after cutoff)"),
        read_recent=lambda start, end: _recent_conversations(client, start, end),
    )

    expired, stalled, erased_seen = drop_erased(runtime, index, cutoff)
    decided = decide_candidates(runtime, expired, stalled, cutoff)
    expired, stalled = decided.expired, decided.stalled
    # the purge-fraction guard's denominator: every customer the index holds, and the candidates it does not
    customers_seen = runtime.last_contacts.count(direct_only=True) + decided.not_indexed
    recent_identifiers = runtime.last_contacts.count(day_start(cutoff).date())
    workspace.put(
        run_id,
        SCAN_HANDOFF,
        {
            "cutoff": cutoff.isoformat(),
            "expired": _summary_payload(expired),
            "stalled": _summary_payload(stalled),
            "customers_seen": customers_seen,
        },
    )
    counts = {
        "cutoff": cutoff.isoformat(),
        "window_start": window_start.isoformat(),
        "conversations_read": index.conversations_read + refresh.conversations_read,
        "customers_seen": customers_seen,
        "erased_earlier_skipped": erased_seen,
        "expired_identifiers": len(expired),
        "stalled_identifiers": len(stalled),
        "recent_identifiers": recent_identifiers,
        "candidates_recent_in_index": decided.recent,
        "own_numbers_detected": refresh.own_numbers_detected,
        "candidates_own_number_in_index": decided.own_numbers,
        "unreadable_values": dict(sorted((Counter(index.problems) + Counter(refresh.problems)).items())),
        # how many other written forms the planned identifiers are stored in (named in the GDPR request)
        "raw_forms_kept": sum(len(s.raw_forms) for s in (*expired, *stalled)),
        "raw_forms_not_kept": sum(s.raw_forms_dropped for s in (*expired, *stalled)),
        "last_contact_index": refresh.counts(),
    }
    return counts


def load_scan(runtime: ErasureRuntime, run_id: str) -> Mapping[str, Any]:
    return runtime.workspace().get(run_id, SCAN_HANDOFF)
