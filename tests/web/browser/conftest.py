"""A real gateway process (`python app.py`: web, worker, cron) and Debian's headless Chromium."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from support import free_port, start_role, stop_role, wait_for
from web_support import WEB_ENV

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 30_000  # a reply crosses the worker: far more than Playwright's 5 s default
expect.set_options(timeout=WAIT_MS)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def gateway(app_env: dict[str, str]) -> Iterator[str]:
    """`python app.py` on a free port, on the test database and Redis; its base URL."""
    port = free_port()
    proc = start_role({**app_env, **WEB_ENV, "HTTP_PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base + "/healthz"), timeout_s=90, interval_s=0.5)
        yield base
    finally:
        stop_role(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/ensure-packages")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser, gateway: str, db: dict[str, str]) -> Iterator[Page]:
    """A fresh tab on the simulator, after the database was cleaned for this test."""
    context = browser.new_context(base_url=gateway)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    yield tab
    context.close()
