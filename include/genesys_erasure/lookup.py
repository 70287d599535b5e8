"""Has this person been erased? Answered from the erasure ledger by keyed hash, for an analyst.

    python -m genesys_erasure.lookup --email jane.doe@example.org
    python -m genesys_erasure.lookup --phone -          # read the value from stdin (keeps it out of
                                                       # the shell history and the process list)

The value is normalised and hashed with the HMAC key (`GENESYS_ERASURE_HMAC_KEY`, as `base64:…`, `hex:…`
or plain text; else the Airflow connection named by `hmac_key_conn_id` in the config file) and only the
hash is compared. The value is not stored, logged or printed. Output (JSON on stdout): whether it was
erased, when, under which ticket and run, with which Genesys request ids. Exit 0 when erased, 1 when not
(or not yet), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from genesys_erasure.identifiers import IdentifierKind, InvalidIdentifier, parse_identifier

KEY_ENV = "GENESYS_ERASURE_HMAC_KEY"
KINDS = {
    "email": IdentifierKind.EMAIL,
    "phone": IdentifierKind.PHONE,
    "external_contact_id": IdentifierKind.EXTERNAL_CONTACT,
    "user_id": IdentifierKind.USER,
}


def _hmac_key(config) -> bytes:
    from genesys_erasure.evidence import key_from_text

    text = os.environ.get(KEY_ENV)
    if text:
        return key_from_text(text)
    from genesys_erasure.tasks.runtime import connection_secret

    return connection_secret(config.hmac_key_conn_id, "hmac_key_conn_id")


def _answer(rows) -> dict[str, Any]:
    erased = [r for r in rows if r.state.value == "verified"]
    return {
        "erased": bool(erased),
        "subjects": [
            {
                "subject_hash": r.subject_hash,
                "state": r.state.value,
                "erased_at": r.final_at.isoformat() if r.final_at and r in erased else None,
                "ticket": r.ticket,
                "source": r.source.value,
                "run_id": r.run_id,
                "request_type": r.request_type,
                "request_ids": list(r.request_ids),
                "due_date": r.due_date.isoformat() if r.due_date else None,
            }
            for r in sorted(rows, key=lambda r: (r.state.value != "verified", r.subject_hash))
        ],
    }


def lookup(kind: IdentifierKind, value: str) -> dict[str, Any]:
    from genesys_erasure.hashing import KeyedHasher
    from genesys_erasure.ledger.store import Ledger
    from genesys_erasure.steps.runtime import load_run_config
    from genesys_erasure.tasks.runtime import ledger_url

    config = load_run_config({})
    identifier = parse_identifier(kind, value, config.default_phone_region)
    identifier_hash = KeyedHasher(_hmac_key(config)).hash_identifier(identifier)
    with Ledger.open(ledger_url(config)) as ledger:
        rows = ledger.lookup_identifier_hash(identifier_hash)
    return {"identifier_kind": kind.value, "identifier_hash": identifier_hash, **_answer(rows)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m genesys_erasure.lookup", description=__doc__.split("\n")[0]
    )
    given = parser.add_mutually_exclusive_group(required=True)
    for name in KINDS:
        given.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE", help="'-' reads stdin")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    name, value = next((n, getattr(args, n)) for n in KINDS if getattr(args, n) is not None)
    if value == "-":
        value = sys.stdin.readline().strip()
    try:
        answer = lookup(KINDS[name], value)
    except InvalidIdentifier as error:
        print(f"error: --{name.replace('_', '-')}: {error.reason}", file=sys.stderr)
        return 2
    except Exception as error:  # config, key or ledger problems: the message never holds the value
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(json.dumps(answer, indent=2))
    return 0 if answer["erased"] else 1


if __name__ == "__main__":
    sys.exit(main())
