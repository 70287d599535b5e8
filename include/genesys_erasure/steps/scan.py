"""Step 1 of the nightly purge: find the customers whose LAST contact is older than the retention cutoff.

Three reads feed one bounded-memory `ContactIndex`:
1. an analytics details job over the window that newly expired since the last run (all history before
   the cutoff on the first run or in backfill mode): the candidates;
2. an analytics details job from the cutoff up to the job data's `dataAvailabilityDate`: everybody with
   a later contact, who must not be erased (a GDPR delete erases all of a subject's data);
3. detail queries from `dataAvailabilityDate` up to now, because jobs lag behind by up to ~48 hours.
The raw result goes into the run workspace (encrypted), with each identifier's raw stored forms (which the
GDPR request must name); XCom gets counts only.

Identifiers the ledger already erased are dropped before planning when everything the scan saw of them
predates the erasure: the analytics lake may show erased customers with their old values for a while, and
they must neither be planned again nor count towards the purge-fraction guard (`drop_erased`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from genesys_erasure.derivation import ContactIndex, ContactSummary
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

SCAN_HANDOFF = "scan"
WATERMARK_MARKER = "retention_scan_watermark"
HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)
JOB_PAGE_SIZE = 1000
DETAIL_QUERY_MAX_DAYS = 7  # the detail query's limit without filters
JOB_POLL_SECONDS = 2.0


def interval(start: datetime, end: datetime) -> str:
    return f"{_iso(start)}/{_iso(end)}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def scan_window_start(runtime: ErasureRuntime, watermark: str | None, cutoff: datetime) -> datetime:
    """Where the candidate scan starts: the last run's cutoff minus an overlap, or all history."""
    if runtime.config.backfill or watermark is None:
        return HISTORY_START
    start = parse_instant(watermark) - timedelta(days=runtime.config.scan_overlap_days)
    return min(start, cutoff)


def _job_conversations(
    client: GenesysClient, start: datetime, end: datetime, label: str
) -> Iterator[dict[str, Any]]:
    job_id = client.submit_conversation_details_job({"interval": interval(start, end), "order": "asc"})
    client.wait_for_conversation_details_job(job_id, poll_seconds=JOB_POLL_SECONDS)
    read = 0
    for number, page in enumerate(client.iter_job_results(job_id, page_size=JOB_PAGE_SIZE), start=1):
        read += len(page.conversations)
        log.info("%s: page %d read, %d conversations so far", label, number, read)
        yield from page.conversations


def _recent_conversations(client: GenesysClient, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """Detail queries in slices the API accepts, from `start` to `end`."""
    slice_start = start
    while slice_start < end:
        slice_end = min(end, slice_start + timedelta(days=DETAIL_QUERY_MAX_DAYS))
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
    if cutoff < available_until:
        index.add_all(_job_conversations(client, cutoff, available_until, "later contacts (after cutoff)"))
    gap_start = max(available_until, cutoff)
    # detail queries carry no participant attributes: what they add is unknown there (verification reads it)
    gap = index.add_all(_recent_conversations(client, gap_start, now), attributes_known=False)
    log.info("Not yet in the analytics jobs: %d conversations read with detail queries", gap)

    expired, stalled, erased_seen = drop_erased(runtime, index, cutoff)
    recent = index.recent(cutoff)
    customers_seen = max(index.customer_count() - erased_seen, 0)
    workspace.put(
        run_id,
        SCAN_HANDOFF,
        {
            "cutoff": cutoff.isoformat(),
            "expired": _summary_payload(expired),
            "stalled": _summary_payload(stalled),
            "recent_hashes": sorted(runtime.hasher.hash_identifier(i) for i in recent),
            "customers_seen": customers_seen,
        },
    )
    counts = {
        "cutoff": cutoff.isoformat(),
        "window_start": window_start.isoformat(),
        "conversations_read": index.conversations_read,
        "customers_seen": customers_seen,
        "erased_earlier_skipped": erased_seen,
        "expired_identifiers": len(expired),
        "stalled_identifiers": len(stalled),
        "recent_identifiers": len(recent),
        "own_numbers_detected": index.detected_own_number_count,
        "unreadable_values": dict(sorted(index.problems.items())),
        # how many other written forms the planned identifiers are stored in (named in the GDPR request)
        "raw_forms_kept": sum(len(s.raw_forms) for s in (*expired, *stalled)),
        "raw_forms_not_kept": sum(s.raw_forms_dropped for s in (*expired, *stalled)),
    }
    log.info("Scan summary: %s", counts)
    return counts


def load_scan(runtime: ErasureRuntime, run_id: str) -> Mapping[str, Any]:
    return runtime.workspace().get(run_id, SCAN_HANDOFF)
