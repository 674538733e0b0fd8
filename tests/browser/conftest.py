from __future__ import annotations

import pytest

from tests.support import services
from tests.support.stack import Stack

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: Playwright's sync API runs an event loop in this thread while it is
    open, which would break every asyncio test that runs after it."""
    services.need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=services.CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app():
    """The embedded default, as ./dev serve runs it, with a simulator slow enough to watch."""
    services.need_chromium()
    with Stack("embedded", tokens_per_second=80) as running:
        yield running


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Chromium logs every non-2xx response; a 422 is the app answering bad input on purpose.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"
