"""Cost in Chromium: send, see the answer's cost and tier, find the same cost on the usage
page; a budget too small refuses the next request with what remains."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat import send, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_the_cost_on_the_answer_is_on_the_usage_page_and_budgets_hold(page, app):
    sign_up(page, app)
    send(page, "#think:40 #answer:60 What does this cost?")
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_attribute("data-status", "complete", timeout=20000)
    cost = answer.locator(".stat.cost")
    expect(cost).to_contain_text(re.compile(r"\$0\.\d{4} · input up to 200k"))
    amount = re.search(r"\$[\d.]+", cost.inner_text()).group(0)
    expect(page.locator("#context-meter")).to_contain_text(f"spent in this chat {amount}")

    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name="Your usage")).to_be_visible()
    totals = page.locator(".usage-totals")
    expect(totals).to_contain_text(amount)
    expect(page.get_by_role("table").filter(has_text="MiniMax-M1-40k")).to_contain_text(amount)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert "What does this cost?" in download.value.path().read_text()

    page.get_by_role("link", name="Budgets").click()
    page.get_by_label(re.compile("Monthly cap for the whole workspace")).fill("0.01")
    page.get_by_role("button", name="Save budgets").click()
    expect(page.locator(".toast")).to_contain_text("Budgets saved.")
    page.get_by_role("link", name="What does this cost?").click()
    send(page, "and again")
    expect(page.locator("#composer-error")).to_contain_text(
        re.compile(r"the workspace's monthly budget has \$0\.00\d\d left of \$0\.0100")
    )
    expect(page.get_by_role("textbox", name="Message")).to_have_value("and again")
