"""Ed25519 evidence: anyone with the published public key can check a report or certificate, nobody
without the private key can make one, and reports signed with the HMAC key before still verify."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from genesys_erasure import signing
from genesys_erasure.evidence import (
    attach_warehouse_results,
    build_run_report,
    main,
    publish_verifying_key,
    sign_document,
    verify_report,
    write_document,
)
from genesys_erasure.ledger import Ledger
from tests.support.erasure import HMAC_KEY, T0, drive_to_verified, plan_for

PRIVATE = signing.private_key_from_text("hex:" + "11" * 32)
OTHER = signing.private_key_from_text("hex:" + "22" * 32)


@pytest.fixture
def rows(tmp_path):
    """run-1: one verified subject and one only planned (a SQLite ledger: signing is no ledger matter)."""
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        drive_to_verified(ledger, plan_for(0), "run-1", "req-0")
        ledger.plan([plan_for(1)], "run-1", now=T0)
        return ledger.rows_for_run("run-1")


@pytest.fixture
def report_signed_by(rows):
    def sign(key) -> dict:
        report = build_run_report(
            run_id="run-1",
            rows=rows,
            parameters={"retention_days": 1826},
            generated_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        )
        return sign_document(report, key)

    return sign


def test_an_ed25519_report_verifies_with_the_public_key_alone(report_signed_by):
    report = report_signed_by(PRIVATE)
    assert report["signature_algorithm"] == "Ed25519"
    assert report["signature_key_id"] == signing.public_key_id(PRIVATE.public_key())
    assert verify_report(report, PRIVATE.public_key())


def test_a_forged_report_does_not_verify(report_signed_by):
    report = report_signed_by(PRIVATE)
    assert not verify_report({**report, "counts": {**report["counts"], "verified": 0}}, PRIVATE.public_key())


def test_a_report_resigned_by_another_key_that_names_the_trusted_key_id_does_not_verify(report_signed_by):
    # A forger signs with their own key, then copies the trusted key id in: the signature must not match.
    forged = report_signed_by(OTHER)
    forged = {**forged, "signature_key_id": signing.public_key_id(PRIVATE.public_key())}
    assert not verify_report(forged, PRIVATE.public_key())
    assert not verify_report(report_signed_by(OTHER), PRIVATE.public_key())


def test_the_public_key_a_document_carries_is_never_trusted(report_signed_by):
    forged = report_signed_by(OTHER)
    assert forged["signature_public_key"] == signing.public_key_pem(OTHER.public_key())
    assert not verify_report(forged, {signing.public_key_id(PRIVATE.public_key()): PRIVATE.public_key()})


def test_an_hmac_signed_report_from_before_still_verifies_with_the_hmac_key_only(report_signed_by):
    legacy = report_signed_by(HMAC_KEY)
    assert verify_report(legacy, HMAC_KEY)
    assert not verify_report(legacy, PRIVATE.public_key())
    assert not verify_report(report_signed_by(PRIVATE), HMAC_KEY)


def test_warehouse_results_are_attached_under_the_same_ed25519_key(report_signed_by):
    table = {"system": "snowflake", "table": "T", "rows_affected": 3, "unrecoverable_after": "2026-04-09"}
    updated = attach_warehouse_results(report_signed_by(PRIVATE), [table], PRIVATE)
    assert updated["warehouse"]["tables"][0]["rows_affected"] == 3
    assert verify_report(updated, PRIVATE.public_key())
    with pytest.raises(ValueError, match="does not verify"):
        attach_warehouse_results(report_signed_by(OTHER), [table], PRIVATE)


def test_private_key_text_accepts_pem_hex_and_base64_and_refuses_other_sizes():
    pem = signing.generate_private_key_pem()
    assert signing.public_key_id(signing.private_key_from_text(pem).public_key())
    seed = base64.b64encode(bytes(range(32))).decode()
    assert (
        signing.private_key_from_text("base64:" + seed).public_key()
        == signing.private_key_from_text("hex:" + bytes(range(32)).hex()).public_key()
    )
    with pytest.raises(ValueError, match="32 bytes"):
        signing.private_key_from_text("hex:00ff")
    with pytest.raises(ValueError, match="PEM"):
        signing.private_key_from_text("plain text")


def test_published_keys_keep_every_rotated_key_so_older_reports_still_verify(report_signed_by, tmp_path):
    old = write_document(report_signed_by(OTHER), tmp_path / "erasure-report-old.json", html=False)
    publish_verifying_key(tmp_path, OTHER)
    new = write_document(report_signed_by(PRIVATE), tmp_path / "erasure-report-new.json", html=False)
    publish_verifying_key(tmp_path, PRIVATE)  # the rotation: a new current key, the old one archived
    current = signing.load_public_keys(tmp_path / signing.CURRENT_KEY_FILE)
    archive = signing.load_public_keys(tmp_path)
    assert verify_report(new, current) and not verify_report(old, current)
    assert verify_report(new, archive) and verify_report(old, archive)
    assert sorted(archive) == sorted(signing.public_key_id(k.public_key()) for k in (OTHER, PRIVATE))


def test_verify_command_takes_the_public_key_or_the_legacy_hmac_key(
    report_signed_by, tmp_path, monkeypatch, capsys
):
    good = write_document(report_signed_by(PRIVATE), tmp_path / "good.json", html=False)
    key_file = publish_verifying_key(tmp_path, PRIVATE)
    forged = tmp_path / "forged.json"
    forged.write_text(good.read_text().replace('"verified": 1', '"verified": 0', 1), encoding="utf-8")
    assert json.loads(forged.read_text())["counts"]["verified"] == 0
    assert main(["verify", str(good), "--public-key", str(key_file)]) == 0
    assert main(["verify", str(good), "--public-key", str(tmp_path)]) == 0
    assert main(["verify", str(forged), "--public-key", str(key_file)]) == 1
    other_key = tmp_path / "other" / signing.CURRENT_KEY_FILE
    publish_verifying_key(other_key.parent, OTHER)
    assert main(["verify", str(good), "--public-key", str(other_key)]) == 1
    legacy = write_document(report_signed_by(HMAC_KEY), tmp_path / "legacy.json", html=False)
    monkeypatch.setenv("GENESYS_ERASURE_HMAC_KEY", HMAC_KEY.decode())
    assert main(["verify", str(legacy), "--key-env", "GENESYS_ERASURE_HMAC_KEY"]) == 0
    assert main(["verify", str(good)]) == 2  # neither key given
    assert main(["verify", str(good), "--public-key", str(tmp_path / "empty")]) == 2
    assert "INVALID" in capsys.readouterr().out
