"""A real headless Chromium for the console's tests: Debian's `chromium` (the Makefile's system
packages), driven by Playwright, which downloads no browser of its own here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright browser, closed (with its processes) on leaving; the test is skipped where
    the machine has no Chromium or no Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if shutil.which(CHROMIUM) is None:
        pytest.skip("no chromium executable: `make system` installs Debian's package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, endpoint: str, access_key_id: str, secret: str) -> None:
    page.goto(f"{endpoint}/console")
    page.fill("input[name=accessKeyId]", access_key_id)
    page.fill("input[name=secretAccessKey]", secret)
    page.click("#sign-in button[type=submit]")
