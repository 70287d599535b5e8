"""Debian's chromium driven by Playwright, for the browser tests (no browser is ever downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def browser_or_skip():
    """Playwright's `sync_playwright`, or a skip naming what to install."""
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (`make chromium`, or apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (requirements-dev.txt)")
    return sync_playwright


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Through Airflow's own login form."""
    page.goto(f"{base_url}/auth/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
