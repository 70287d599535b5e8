"""The privacy scanner finds planted identifiers in any common encoding, and never echoes them."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.support.privacy_scan import scan_paths

EMAIL = "zelda.quarantino@planted-example.org"
PHONE = "+447700900317"


def _hits(tmp_path, content: bytes, needles=(EMAIL, PHONE)):
    path = tmp_path / "artifact.bin"
    path.write_bytes(content)
    return scan_paths([tmp_path], needles)


def test_scan_reports_file_and_needle_index_but_not_the_needle(tmp_path):
    [hit] = [h for h in _hits(tmp_path, f"x {PHONE} y".encode()) if h.encoding == "utf8"]
    assert (hit.path.name, hit.needle_index) == ("artifact.bin", 1)
    assert PHONE not in repr(hit)


def test_scan_finds_json_escaped_email(tmp_path):
    content = json.dumps({"to": EMAIL}).replace("@", "\\u0040").encode()
    assert {h.needle_index for h in _hits(tmp_path, content)} == {0}


def test_scan_finds_url_encoded_phone_and_email(tmp_path):
    content = b"GET /search?phone=%2B447700900317&mail=zelda.quarantino%40planted-example.org"
    assert {h.needle_index for h in _hits(tmp_path, content)} == {0, 1}


def test_scan_finds_upper_case_email(tmp_path):
    assert {h.needle_index for h in _hits(tmp_path, EMAIL.upper().encode())} == {0}


def test_scan_finds_utf16_text(tmp_path):
    assert {h.needle_index for h in _hits(tmp_path, f"log {EMAIL}".encode("utf-16-le"))} == {0}


def test_scan_finds_phone_digits_without_plus(tmp_path):
    assert {h.needle_index for h in _hits(tmp_path, b"ani=447700900317;")} == {1}


def test_scan_finds_needle_inside_sqlite_database(tmp_path):
    path = tmp_path / "leaky.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (v TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (f"note about {EMAIL}",))
    db.close()
    assert {h.needle_index for h in scan_paths([path], [EMAIL, PHONE])} == {0}


def test_scan_of_clean_directory_tree_finds_nothing(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "report.json").write_text('{"subject_hash": "ab12", "counts": {"verified": 3}}')
    (tmp_path / "a" / "blob.bin").write_bytes(bytes(range(256)) * 10)
    assert scan_paths([tmp_path, tmp_path / "missing"], [EMAIL, PHONE]) == []


def test_empty_needle_is_refused(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        scan_paths([tmp_path], [""])
