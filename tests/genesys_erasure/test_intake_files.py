"""Sealed subject lists: what the intake page writes, how the ad-hoc DAG's first task reads it (and refuses
inline subjects unless the config allows them), and that the wipe removes only the intake's own files."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from genesys_erasure import intake_files
from genesys_erasure.sealing import IdentifierSealer
from genesys_erasure.subject_input import SubjectInputError
from genesys_erasure.tasks.subject_request import read_subjects
from tests.support.erasure import PLANTED_EMAIL, PLANTED_PHONE

CIPHER = IdentifierSealer(Fernet.generate_key()).cipher
CSV = f"type,value\nemail,{PLANTED_EMAIL}\nphone,{PLANTED_PHONE}\n".encode()


@pytest.fixture
def sealed(tmp_path):
    directory = tmp_path / "intake"
    path = intake_files.seal_subject_list(
        CSV, source_format="csv", ticket="DSR-2026/0042", directory=directory, cipher=CIPHER
    )
    return directory, path


def test_a_sealed_list_holds_no_value_and_reads_back_as_the_list_it_was(sealed):
    directory, path = sealed
    assert path.parent == directory and path.name.startswith("DSR-2026_0042-")
    assert path.name.endswith(".sealed.json") and oct(path.stat().st_mode & 0o777) == "0o600"
    data = path.read_bytes()
    assert PLANTED_EMAIL.encode() not in data and b"7700900317" not in data
    assert intake_files.is_sealed(data) and not intake_files.is_sealed(CSV)
    assert intake_files.open_sealed(data, CIPHER) == (CSV, "sealed.csv")


def test_the_dag_reads_a_sealed_list_from_its_uri_and_checks_every_row(sealed):
    _, path = sealed
    params = {"subjects_file": path.as_uri()}
    subjects = read_subjects(params, "GB", cipher=CIPHER)
    assert [i.value for i in subjects.identifiers] == [PLANTED_EMAIL, PLANTED_PHONE]
    assert subjects.rows_read == 2


def test_a_list_sealed_with_another_key_or_damaged_is_refused_without_content(sealed, tmp_path):
    _, path = sealed
    other = IdentifierSealer(Fernet.generate_key()).cipher
    with pytest.raises(SubjectInputError, match="sealed_with_another_key") as caught:
        read_subjects({"subjects_file": path.as_uri()}, None, cipher=other)
    assert caught.value.problems[0].field == "subjects_file"
    damaged = tmp_path / "damaged.json"
    envelope = json.loads(path.read_text())
    damaged.write_text(json.dumps({**envelope, "token": envelope["token"][:-8]}))
    with pytest.raises(SubjectInputError, match="sealed_with_another_key"):
        read_subjects({"subjects_file": damaged.as_uri()}, None, cipher=CIPHER)


def test_inline_subjects_are_refused_by_name_unless_the_config_allows_them():
    params = {"subjects": [PLANTED_EMAIL]}
    with pytest.raises(SubjectInputError) as caught:
        read_subjects(params, None)
    assert "inline subjects are switched off (allow_inline_subjects)" in str(caught.value)
    assert PLANTED_EMAIL not in str(caught.value)
    assert len(read_subjects(params, None, allow_inline=True).identifiers) == 1


def test_the_wipe_deletes_the_intakes_own_file_and_nothing_else(sealed, tmp_path):
    directory, path = sealed
    own_list = tmp_path / "analyst" / "list.csv"
    own_list.parent.mkdir()
    own_list.write_bytes(CSV)
    lookalike = tmp_path / path.name  # the right name, outside the intake directory
    lookalike.write_bytes(path.read_bytes())
    assert not intake_files.wipe(own_list.as_uri(), directory)
    assert not intake_files.wipe(lookalike.as_uri(), directory)
    assert not intake_files.wipe(f"file://{directory}/../{path.name}", directory)
    assert not intake_files.wipe(f"s3://bucket/{path.name}", directory)
    assert not intake_files.wipe(None, directory)
    assert own_list.exists() and lookalike.exists() and path.exists()
    assert intake_files.wipe(path.as_uri(), directory)
    assert not path.exists() and not intake_files.wipe(path.as_uri(), directory)
