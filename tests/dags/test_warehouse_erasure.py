"""Warehouse copies end to end: `dag.test()` on the Genesys Cloud sandbox, with the sandbox's conversations
streamed into a local Snowflake (fakesnow) and BigQuery (bqemulator), both reached through Airflow
connections and the real clients."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from genesys_devtools import demo_warehouses as wh
from genesys_erasure.evidence import verify_report
from genesys_erasure.identifiers import Identifier, IdentifierKind, normalise_email, normalise_phone
from genesys_erasure.ledger import SubjectSource, SubjectState
from genesys_erasure.steps.subjects_api import gdpr_subject_body
from genesys_erasure.tasks.runtime import load_runtime
from tests.dags.conftest import PAST_DELETE_LAG_HOURS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _recent_conversations(org) -> set[str]:
    return {cid for c in org.customers_where(activity="recent") for cid in c.conversation_ids}


def test_erased_subjects_rows_leave_both_warehouses_and_recent_customers_stay(wh_stack):
    recent = _recent_conversations(wh_stack.org)
    before = wh_stack.conversations()

    run = wh_stack.stack.run(backfill=True)

    assert run.state == "success"
    erased = {cid for row, _ in wh_stack.ledger_rows().values() if row.state is SubjectState.VERIFIED
              for cid in row.conversation_ids}  # fmt: skip
    assert erased, "the purge erased subjects with conversations"
    after = wh_stack.conversations()
    for system in ("snowflake", "bigquery"):
        assert erased & before[system], f"{system} held the erased subjects' conversations"
        assert erased & after[system] == set(), f"{system} still holds an erased subject's conversation"
        assert recent & before[system] <= after[system], f"{system} lost a recent customer's row"


def test_evidence_holds_rows_affected_and_the_unrecoverable_after_date(wh_stack):
    run = wh_stack.stack.run(backfill=True)
    report = wh_stack.stack.report(run)

    assert verify_report(report, load_runtime({}).signing_key)
    warehouse = report["warehouse"]
    assert warehouse["status"] == "done"
    assert {t["system"] for t in warehouse["tables"]} == {"snowflake", "bigquery"}
    for table in warehouse["tables"]:
        assert table["rows_affected"] > 0 and table["rows_remaining"] == 0
        assert datetime.fromisoformat(table["unrecoverable_after"]) > datetime.now(UTC)
    done = [row for row, token in wh_stack.ledger_rows().values() if row.state is SubjectState.VERIFIED]
    assert done and all(not row.warehouse_pending and row.warehouse_rows for row in done)
    assert all(token is None for row, token in wh_stack.ledger_rows().values() if row in done)


def test_bad_mapping_fails_before_any_statement_and_the_next_run_erases_the_pending_subjects(wh_stack):
    document = wh.demo_mapping()
    document["connections"][1]["tables"][0]["columns"].append(
        {"name": "NO_SUCH_COLUMN", "identifier": "email", "form": "raw"}
    )
    wh_stack.map(document)
    before = wh_stack.conversations()

    failed = wh_stack.stack.run(backfill=True)

    assert failed.state == "failed"
    assert wh_stack.stack.report(failed)["warehouse"]["status"] == "mapping_invalid"
    assert wh_stack.conversations() == before, "a statement ran although the mapping was rejected"
    held = [row for row, token in wh_stack.ledger_rows().values() if row.warehouse_pending and token]
    # some wait for lagging recording/contact deletes at Genesys (the pessimistic profile); a subject
    # deferred for an active conversation keeps its identifiers for the night that erases it
    waiting = (SubjectState.VERIFIED, SubjectState.ERASURE_PENDING)
    pending = [row for row in held if row.state in waiting]
    assert pending and all(row.state in (*waiting, SubjectState.DEFERRED) for row in held)

    wh_stack.map()
    # a later night, past the lag: every subject is verified and its warehouse rows can go
    wh_stack.stack.advance_clock(PAST_DELETE_LAG_HOURS)
    fixed = wh_stack.stack.run()

    assert fixed.state == "success"
    # the warehouse follows Genesys verification: a subject left for review (a value in participant
    # attributes, which the pessimistic delete leaves) keeps its warehouse rows for that person's decision
    now = {h: row for h, (row, _) in wh_stack.ledger_rows().items()}
    verified = [
        now[row.subject_hash] for row in pending if now[row.subject_hash].state is SubjectState.VERIFIED
    ]
    assert verified and all(
        now[row.subject_hash].state in (SubjectState.VERIFIED, SubjectState.NEEDS_REVIEW) for row in pending
    )
    erased = {cid for row in verified for cid in row.conversation_ids}
    assert all(erased & tables == set() for tables in wh_stack.conversations().values())


def test_listener_records_an_erasure_made_outside_the_pipeline_and_cleans_its_rows(wh_stack):
    org = wh_stack.org
    person = next(
        c for c in org.customers_where(activity="recent", fragmented=False, placeholder=False)
        if c.emails and c.phones and len(c.conversation_ids) >= 2
    )  # fmt: skip
    identifiers = [Identifier(IdentifierKind.EMAIL, normalise_email(e)) for e in person.emails] + [
        Identifier(IdentifierKind.PHONE, normalise_phone(p)) for p in person.phones
    ]
    hook = wh_stack.stack.hook()
    request = hook.submit_gdpr_request("GDPR_DELETE", gdpr_subject_body(identifiers))
    for _ in range(200):
        if hook.get_gdpr_request(request["id"])["status"] == "COMPLETED":
            break
        time.sleep(0.1)
    others = _recent_conversations(org) - set(person.conversation_ids)
    before = wh_stack.conversations()

    first = wh_stack.stack.run("genesys_gdpr_request_listener")

    assert first.state == "success"
    (row, _), *rest = wh_stack.ledger_rows().values()
    # the person's recordings are deleted 48 h after COMPLETED (pessimistic profile): pending until then;
    # the next nightly run past the lag re-checks pending subjects (the listener only looks for new
    # erasures), verifies it and cleans its rows
    assert not rest and (row.source, row.state) == (SubjectSource.EXTERNAL, SubjectState.ERASURE_PENDING)
    wh_stack.stack.advance_clock(PAST_DELETE_LAG_HOURS)
    run = wh_stack.stack.run()

    assert run.state == "success"
    row, token = wh_stack.ledger_rows()[row.subject_hash]
    assert (row.source, row.state) == (SubjectSource.EXTERNAL, SubjectState.VERIFIED)
    assert row.request_ids == (request["id"],) and not row.warehouse_pending and token is None
    for system, remaining in wh_stack.conversations().items():
        assert set(person.conversation_ids) & before[system], f"{system} held the person's rows"
        assert set(person.conversation_ids) & remaining == set(), f"{system} kept the person's rows"
        assert others & before[system] <= remaining, f"{system} lost another customer's row"
