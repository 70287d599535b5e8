"""Debian's chromium driven by Playwright, for the browser tests (no browser is ever downloaded)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def chromium_page(height: int = 1000) -> Iterator[tuple[Any, Any]]:
    """(context, page) of a fresh headless chromium (skips without one), closed afterwards."""
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": height})
        try:
            yield context, context.new_page()
        finally:
            browser.close()
