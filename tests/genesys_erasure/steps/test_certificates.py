"""Certificates of an ad-hoc erasure (`issue_for_ticket`) read back from the ledger: which erasure a
ticket's identifiers rest on, and when there is none to certify."""

from __future__ import annotations

from datetime import timedelta

from genesys_erasure.dsr import DsrRequest, ErasureMode
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectPlan, SubjectSource
from genesys_erasure.steps.certificates import issue_for_ticket
from tests.support.erasure import drive_to_verified

PERSON = Identifier(IdentifierKind.EMAIL, "pia.pseudo@example.org")


def _verified_by(world, request_type: str) -> list[dict[str, str]]:
    """An earlier run verified PERSON's subject with `request_type`; returns the ticket's input hashes."""
    runtime = world.runtime
    plan = SubjectPlan.build(
        [PERSON],
        hasher=runtime.hasher,
        sealer=runtime.sealer,
        source=SubjectSource.DSR,
        request_type=request_type,
    )
    drive_to_verified(runtime.ledger, plan, "adhoc-0", "req-0")
    return [{"kind": PERSON.kind.value, "hash": runtime.hasher.hash_identifier(PERSON)}]


def _issue(world, input_hashes, mode: ErasureMode) -> dict:
    request = DsrRequest(ticket="DSR-2026-0042", received_on=world.now.date() - timedelta(days=2), mode=mode)
    return issue_for_ticket(world.runtime, "adhoc-1", request, input_hashes, world.now)


def test_delete_ticket_gets_no_certificate_from_an_earlier_pseudonymisation(world):
    input_hashes = _verified_by(world, "GDPR_UPDATE")

    result = _issue(world, input_hashes, ErasureMode.DELETE)

    assert result["certificates"] == []
    (not_erased,) = result["identifiers_not_erased"]
    assert not_erased["states"] == ["verified:GDPR_UPDATE"]


def test_pseudonymise_ticket_is_certified_by_an_earlier_delete(world):
    input_hashes = _verified_by(world, "GDPR_DELETE")

    result = _issue(world, input_hashes, ErasureMode.PSEUDONYMISE)

    (certificate,) = result["certificates"]
    assert certificate["erased_earlier_by_run"] == "adhoc-0"
    assert result["identifiers_not_erased"] == []


def _sealed_list(world):
    from genesys_erasure.intake_files import intake_dir, seal_subject_list

    directory = intake_dir(world.runtime.config.intake_dir, world.home)
    path = seal_subject_list(
        b'["pia.pseudo@example.org"]',
        source_format="json",
        ticket="DSR-2026-0042",
        directory=directory,
        cipher=world.runtime.sealer.cipher,
    )
    return path


def test_the_certificates_of_a_real_run_wipe_the_sealed_list_the_intake_wrote(world):
    path = _sealed_list(world)
    input_hashes = _verified_by(world, "GDPR_DELETE")
    request = DsrRequest(ticket="DSR-2026-0042", received_on=world.now.date() - timedelta(days=2))

    result = issue_for_ticket(
        world.runtime, "adhoc-1", request, input_hashes, world.now, subjects_file=path.as_uri()
    )

    assert result["intake_file_wiped"] is True and not path.exists()
    assert len(result["certificates"]) == 1


def test_the_sealed_list_is_kept_while_a_subject_of_the_ticket_awaits_its_erasure(world):
    path = _sealed_list(world)
    runtime = world.runtime
    plan = SubjectPlan.build([PERSON], hasher=runtime.hasher, sealer=runtime.sealer, source=SubjectSource.DSR)
    runtime.ledger.plan([plan], "adhoc-1", now=world.now)  # planned, not yet erased
    input_hashes = [{"kind": PERSON.kind.value, "hash": runtime.hasher.hash_identifier(PERSON)}]
    request = DsrRequest(ticket="DSR-2026-0042", received_on=world.now.date() - timedelta(days=2))

    result = issue_for_ticket(
        runtime, "adhoc-1", request, input_hashes, world.now, subjects_file=path.as_uri()
    )

    assert result["intake_file_wiped"] is False and path.exists()
    assert result["identifiers_not_erased"][0]["states"] == ["planned"]


def test_a_dry_run_keeps_the_sealed_list_for_the_real_run(world):
    from dataclasses import replace

    path = _sealed_list(world)
    request = DsrRequest(ticket="DSR-2026-0042", received_on=world.now.date() - timedelta(days=2))
    world.runtime.config = replace(world.runtime.config, dry_run=True)

    result = issue_for_ticket(world.runtime, "adhoc-1", request, [], world.now, subjects_file=path.as_uri())

    assert "intake_file_wiped" not in result and path.exists()
