"""Compare in Chromium: three columns streaming at once, a bad setting named at its field, a
follow-up to every column, and a column continued as a chat."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_chat import sign_up
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.services]


def open_compare(page: Page, app: Stack) -> None:
    sign_up(page, app)
    page.get_by_role("link", name="Compare", exact=True).click()
    expect(page.get_by_role("heading", name="Compare")).to_be_visible()


def column_card(page: Page, number: int):
    return page.get_by_role("group", name=f"Column {number}", exact=True)


def column(page: Page, number: int):
    return page.locator(f"#column-{number}-messages")


def test_three_columns_stream_at_once_then_continue_one_as_a_chat(page, app):
    open_compare(page, app)
    expect(column_card(page, 3)).to_be_hidden()
    page.get_by_role("button", name="Add a column").click()
    third = column_card(page, 3)
    expect(third).to_be_visible()
    second = column_card(page, 2)
    expect(second.get_by_label("Model")).to_have_value(re.compile(":MiniMax-M1-80k$"))
    second.get_by_label("Temperature").fill("0.5")
    third.get_by_label("Thinking budget").fill("1000")
    third.get_by_label("Max tokens").fill("6000")
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("#think:300 #answer:150 Compare merge sort and quicksort")
    prompt.press("Enter")

    expect(page.locator(".compare-column")).to_have_count(3)
    heads = page.locator(".column-head h2")
    expect(heads).to_have_text([re.compile(m) for m in ("40k", "80k", "40k")])
    expect(page.locator(".column-settings").nth(1)).to_contain_text("temperature 0.5")
    expect(page.locator(".column-settings").nth(2)).to_contain_text("budget 1,000")
    # All three think at the same time: each column's thinking grows while the others' do.
    answers = [column(page, n).locator(".msg-assistant") for n in (1, 2, 3)]
    for answer in answers:
        expect(answer.locator(".thinking-body")).not_to_be_empty(timeout=15000)
    lengths = [len(a.locator(".thinking-body").inner_text()) for a in answers]
    streaming = [a.get_attribute("data-status") for a in answers]
    assert streaming == ["streaming"] * 3, "the three columns stream at once"
    page.wait_for_timeout(500)
    grown = [len(a.locator(".thinking-body").inner_text()) for a in answers]
    assert all(after > before for before, after in zip(lengths, grown, strict=True)), (
        lengths,
        grown,
    )
    expect(page.get_by_role("button", name="Stop all columns")).to_be_visible()

    for answer in answers:
        expect(answer).to_have_attribute("data-status", "complete", timeout=30000)
        meta = answer.locator(".msg-meta")
        for figure in ("TTFT", "tok/s", "answer 150"):
            expect(meta).to_contain_text(figure)
    expect(answers[0].locator(".msg-meta")).to_contain_text("thinking 300")
    expect(answers[1].locator(".msg-meta")).to_contain_text("MiniMax-M1-80k")

    # A follow-up reaches every column, once each.
    follow_up = page.get_by_role("textbox", name="Follow-up for every column")
    follow_up.fill("#think:20 #answer:20 And which is stable?")
    follow_up.press("Enter")
    for number in (1, 2, 3):
        expect(column(page, number).locator(".msg-user")).to_have_count(2)
        expect(column(page, number).locator(".msg-assistant").last).to_have_attribute(
            "data-status", "complete", timeout=30000
        )
        expect(column(page, number).locator(".msg-assistant")).to_have_count(2)
    expect(follow_up).to_have_value("")

    # Column 2 goes on as a chat of its own, with its settings and its conversation.
    page.get_by_role("button", name=re.compile(r"Continue as a chat \(column 2\)")).click()
    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f-]+$"))
    expect(page.locator(".toast")).to_contain_text("Continuing column 2")
    expect(page.locator(".msg-user")).to_have_count(2)
    expect(page.get_by_label("Model", exact=True)).to_have_value(re.compile(":MiniMax-M1-80k$"))
    box = page.get_by_role("textbox", name="Message")
    box.fill("#think:10 #answer:10 thanks")
    box.press("Enter")
    expect(page.locator(".msg-assistant").last).to_have_attribute(
        "data-status", "complete", timeout=30000
    )
    expect(page.locator(".msg-assistant")).to_have_count(3)
    expect(page.get_by_role("navigation", name="Chats")).to_contain_text("Compare merge sort")


def test_a_bad_column_setting_is_named_at_its_field_and_the_prompt_is_kept(page, app):
    open_compare(page, app)
    column_card(page, 1).get_by_label("Temperature").fill("9")
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("keep me")
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("nothing was sent")
    expect(column_card(page, 1)).to_contain_text("Temperature must be in")
    expect(page.get_by_role("textbox", name="Prompt", exact=True)).to_have_value("keep me")
    expect(page.locator(".compare-column")).to_have_count(0)
