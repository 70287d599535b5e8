"""Shared by every test that needs the local BigQuery emulator."""

from __future__ import annotations

import os

import pytest

from genesys_devtools.local_engines import find_bqemulator_python


def require_bqemulator() -> None:
    """Skip when bqemulator's own virtualenv is missing; in CI (where `make test` builds it) fail instead,
    so a broken install step cannot hide behind skipped tests."""
    if find_bqemulator_python() is None:
        reason = "bqemulator's virtualenv .venv-bq is missing: run `make venv` (make test does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
