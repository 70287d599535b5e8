"""The request listener's step: erasures made outside this pipeline (an administrator in the Genesys UI,
another script) found in Genesys' GDPR request list and written to the ledger, so they are verified,
cleaned from the warehouses and evidenced like the pipeline's own.

Genesys keeps every request ever made, so the listener does not read the whole list each hour: the ledger
keeps a watermark (a `createdDate`) and the list is read from its newest end back to it. The next
watermark is the `createdDate` of the oldest request still running (it may yet complete and must be seen
again), else of the newest request read; it is read again with `WATERMARK_OVERLAP` to spare, for a
request that shows up in the list a little after its `createdDate`. The first run reads everything once.

A listener run that dies after recording (worker killed, run failed before `verify`) leaves its rows
`completed` under its run id, and the next run does not find their requests new: it takes them over
(`Ledger.adopt_recorded_external`), so they are verified, cleaned from the warehouses and evidenced by it.
The DAG allows one active run, so the rows of any other listener run are a dead run's leftovers.

A dry run (the `dry_run` setting or Param) reads and counts only: it writes no row, takes over none and
leaves the watermark where it was, so the next real run reads the same requests again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from genesys_cloud.gdpr_listing import created_at
from genesys_cloud.gdpr_status import is_final
from genesys_cloud.vocabulary import GdprStatus
from genesys_erasure.ledger import GDPR_DELETE, SubjectPlan, SubjectSource, SubjectState
from genesys_erasure.steps.reconcile import sent_identifier_sets
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.subjects_api import subject_hashes, subject_identifiers

log = logging.getLogger(__name__)

COMPLETED = GdprStatus.COMPLETED
WATERMARK_OVERLAP = timedelta(minutes=15)


def next_watermark(entities: Iterable[dict[str, Any]], previous: datetime | None) -> datetime | None:
    """Where the next read must reach back to: the oldest request still running, else the newest read."""
    running: list[datetime] = []
    newest = previous
    for entity in entities:
        when = created_at(entity)
        if when is None:
            continue
        if not is_final(entity.get("status")):
            running.append(when)
        newest = when if newest is None or when > newest else newest
    return min(running) if running else newest


def record_external_erasures(runtime: ErasureRuntime, run_id: str, now: datetime) -> dict[str, Any]:
    """Write every COMPLETED GDPR_DELETE the ledger does not know into it under `run_id`, and take over
    those earlier listener runs recorded and never verified. Counts only."""
    client = runtime.client
    ledger = runtime.ledger
    dry_run = runtime.config.dry_run
    watermark = ledger.listener_watermark()
    listed = list(client.iter_gdpr_requests(since=watermark - WATERMARK_OVERLAP if watermark else None))
    candidates = [
        entity
        for entity in listed
        if entity.get("requestType") == GDPR_DELETE and entity.get("status") == COMPLETED and entity.get("id")
    ]
    counts = {"requests_read": len(listed), "completed_deletes_listed": len(candidates), "recorded": 0,
              "subject_already_in_ledger": 0, "no_usable_identifier": 0,
              "left_to_reconciliation": 0, **({"would_record": 0} if dry_run else {})}  # fmt: skip
    warehouse_pending = bool(runtime.config.warehouse_mapping_path)
    known = ledger.known_request_ids(e["id"] for e in candidates)
    # A request of ours whose POST answer was lost (row still `submitting`) looks external: adopting it
    # here would make the ledger own its id, reconciliation would then release our row and it would be
    # posted a second time. Such a request is recognised exactly as reconciliation recognises it.
    ours_in_flight = set(
        sent_identifier_sets(runtime, ledger, ledger.rows_in_states([SubjectState.SUBMITTING]))
    )
    for entity in candidates:
        if entity["id"] in known:
            continue
        if ours_in_flight and subject_hashes(entity.get("subject") or {}, runtime.hasher) in ours_in_flight:
            counts["left_to_reconciliation"] += 1
            continue
        identifiers = subject_identifiers(entity.get("subject") or {})
        if not identifiers:  # e.g. a subject named by a dialer contact or social handle only
            counts["no_usable_identifier"] += 1
            continue
        if dry_run:
            counts["would_record"] += 1
            continue
        plan = SubjectPlan.build(
            identifiers,
            hasher=runtime.hasher,
            sealer=runtime.sealer,
            source=SubjectSource.EXTERNAL,
            warehouse_pending=warehouse_pending,
        )
        if ledger.record_external_erasure(plan, entity["id"], run_id, now=now):
            counts["recorded"] += 1
        else:
            counts["subject_already_in_ledger"] += 1
    unknown = ("recorded", "subject_already_in_ledger", "no_usable_identifier", "would_record")
    counts["unknown_requests"] = sum(counts.get(k, 0) for k in unknown)
    if dry_run:
        log.info("Dry run: %d erasure(s) made outside the pipeline not recorded", counts["would_record"])
        return {**counts, "adopted_from_earlier_runs": 0, "dry_run": True}
    adopted = ledger.adopt_recorded_external(run_id, now=now)
    if adopted:
        log.warning("Took over %d external erasure(s) an earlier listener run left unverified", len(adopted))
    # Moved only after every request read was written: a crash before this reads them again (which is
    # harmless). A request left to reconciliation needs no second look: reconciliation reads it itself.
    new_watermark = next_watermark(listed, watermark)
    if new_watermark is not None:
        ledger.set_listener_watermark(new_watermark)
    return {**counts, "adopted_from_earlier_runs": len(adopted), "dry_run": False}


def warehouses_waiting(runtime: ErasureRuntime) -> bool:
    """Verified subjects whose warehouse copies are still to be erased (a mapping is configured)."""
    if not runtime.config.warehouse_mapping_path:
        return False
    return bool(runtime.ledger.warehouse_pending_verified())
