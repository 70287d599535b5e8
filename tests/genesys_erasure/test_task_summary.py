"""The end of every task's log: a plain sentence and a short table, never a wall of hashes."""

from __future__ import annotations

from genesys_erasure.task_summary import task_summary


def _row(text: str, name: str) -> str:
    """The value of the table row `name`."""
    return next(line[len(name) :].strip() for line in text.splitlines() if line.split("  ")[0] == name)


HASH = "a" * 64


def test_a_submit_log_ends_with_a_sentence_naming_what_happened():
    text = task_summary(
        "submit_batch", {"submitted": 98, "skipped": 0, "rejected": 2, "deferred_gdpr_quota": 0}
    )
    first = text.splitlines()[0]
    assert first.startswith("Created 98 GDPR request(s) at Genesys; Genesys rejected 2 subject(s)")
    assert _row(text, "submitted") == "98"


def test_lists_of_hashes_show_as_counts_and_a_lone_hash_is_shortened():
    text = task_summary("plan_retention_purge", {"to_submit": 2, "batches": [[HASH, HASH]], "first": HASH})
    assert HASH not in text
    assert _row(text, "batches") == "1 item(s)"
    assert "aaaaaaaaaaaa…" in text


def test_first_contact_plan_says_it_waits_for_a_person():
    text = task_summary(
        "plan_retention_purge", {"to_submit": 7, "needs_approval": True, "approval_reason": "first_contact"}
    )
    assert text.splitlines()[0] == (
        "Planned 7 subject(s) for erasure. It waits for a person's approval: the first run that submits to "
        "this org."
    )


def test_compliance_says_compliant_in_words():
    text = task_summary("check_compliance", {"verified": 5, "erasure_pending": 2, "needs_review": 0})
    assert text.startswith("Compliant: no subject of this run failed. 2 pending at Genesys")


def test_nested_counts_show_one_level_deep_and_a_long_table_is_cut():
    result = {"scan": {"conversations_read": 12, "deep": {"x": 1}}, **{f"k{i}": i for i in range(40)}}
    text = task_summary("unknown_step", result)
    rows = text.splitlines()
    assert rows[0] == "Step unknown step finished."
    assert _row(text, "scan.conversations_read") == "12"
    assert _row(text, "scan.deep") == "1 entry"
    assert rows[-1].startswith("…") and len(rows) <= 4 + 24


def test_listener_log_says_how_many_erasures_it_took_over_from_a_dead_run():
    text = task_summary("record_external_erasures", {"recorded": 2, "adopted_from_earlier_runs": 1})
    assert text.splitlines()[0] == (
        "Recorded 2 erasure(s) made outside the pipeline; took over 1 an earlier listener run recorded "
        "and never verified."
    )


def test_dry_run_listener_log_says_nothing_was_written():
    text = task_summary("record_external_erasures", {"dry_run": True, "would_record": 3, "recorded": 0})
    assert text.splitlines()[0] == (
        "Dry run: 3 erasure(s) made outside the pipeline would be recorded; nothing was written."
    )
