"""Sealed subject lists: how a subject list reaches the ad-hoc DAG without its values entering Airflow's
run configuration or audit log.

The evidence UI's intake page (`genesys_erasure.evidence_ui.intake`) checks the analyst's list, encrypts
it with the sealing key (Fernet, the key that already seals identifiers in the ledger and the run
workspace) and writes it as one file under the intake directory (`intake_dir` of the purge config, under
the erasure home). The DAG is triggered with that file's URI; `validate_subject_request` recognises the
envelope, opens it with the same key and parses the list as the CSV or JSON it was. Once a real run of
the ticket has issued its certificates, the file is overwritten and deleted (`wipe`): the ledger keeps
each subject's identifiers sealed for as long as the erasure still needs them.

The envelope is JSON (`{"genesys_erasure_sealed_subject_list": 1, "format": "csv", "token": "..."}`), so
the file's name ends in `.json` and the form's file pattern accepts its URI unchanged.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from genesys_erasure.subject_input import RowProblem, SubjectInputError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

ENVELOPE_KEY = "genesys_erasure_sealed_subject_list"
ENVELOPE_VERSION = 1
SUFFIX = ".sealed.json"
# What the intake writes: the ticket made file-safe, 16 random hex digits. The wipe deletes nothing else.
_SEALED_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}-[0-9a-f]{16}\.sealed\.json")
SourceFormat = Literal["csv", "json"]


def intake_dir(intake_setting: str, home: Path) -> Path:
    """The intake directory: `intake_dir` of the config, a relative one under the erasure home."""
    path = Path(intake_setting)
    return path if path.is_absolute() else home / path


def seal_subject_list(
    data: bytes, *, source_format: SourceFormat, ticket: str, directory: Path, cipher: MultiFernet
) -> Path:
    """Write `data` (a CSV or JSON subject list) sealed into a new file of `directory`, readable by its
    owner only; returns the file's path."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', ticket)[:64]}-{secrets.token_hex(8)}{SUFFIX}"
    envelope = {
        ENVELOPE_KEY: ENVELOPE_VERSION,
        "format": source_format,
        "token": cipher.encrypt(data).decode("ascii"),
    }
    path = directory / name
    # O_EXCL: a new file every time, created with its final permissions (never briefly world-readable)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        json.dump(envelope, handle)
    return path


def is_sealed(data: bytes) -> bool:
    """Whether `data` is a sealed list's envelope (and not a plain JSON or CSV list)."""
    head = data[:200].lstrip()
    return head.startswith(b"{") and ENVELOPE_KEY.encode("ascii") in head


def open_sealed(data: bytes, cipher: MultiFernet) -> tuple[bytes, str]:
    """The list a sealed file holds and a name with its format's suffix (for `subject_input.parse_file`).
    Problems are `SubjectInputError`s on the `subjects_file` field, without content."""
    from cryptography.fernet import InvalidToken

    try:
        envelope = json.loads(data)
        version, source_format, token = envelope[ENVELOPE_KEY], envelope["format"], envelope["token"]
    except (ValueError, KeyError, TypeError):
        raise SubjectInputError([RowProblem(None, "subjects_file", "damaged_sealed_list")]) from None
    if version != ENVELOPE_VERSION or source_format not in ("csv", "json"):
        raise SubjectInputError([RowProblem(None, "subjects_file", "unsupported_sealed_list")])
    try:
        return cipher.decrypt(str(token).encode("ascii")), f"sealed.{source_format}"
    except (InvalidToken, UnicodeEncodeError):
        problem = "sealed_with_another_key (not this deployment's sealing key, or altered)"
        raise SubjectInputError([RowProblem(None, "subjects_file", problem)]) from None


def managed_path(uri: str | None, directory: Path) -> Path | None:
    """The file `uri` names if it is a sealed list the intake wrote into `directory`, else None."""
    if not uri:
        return None
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path))
    if not _SEALED_NAME.fullmatch(path.name):
        return None
    try:
        inside = path.resolve().parent == directory.resolve()
    except OSError:
        return None
    return path if inside else None


def wipe(uri: str | None, directory: Path) -> bool:
    """Overwrite and delete the sealed list `uri` names, if the intake wrote it into `directory`; a file
    anywhere else (an analyst's own list) is never touched. True if a file was wiped."""
    path = managed_path(uri, directory)
    if path is None or not path.is_file():
        return False
    size = path.stat().st_size
    # The content is ciphertext already; overwriting it first means a leaked key later cannot read a
    # block the file system has not reused yet.
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    return True
