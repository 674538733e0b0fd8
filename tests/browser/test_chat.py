"""A person in Chromium: sign up, chat, watch thinking then answer, stop, reload, retry."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.stack import PASSWORD, Stack, message_row

pytestmark = [pytest.mark.browser, pytest.mark.services]

_names = itertools.count()


def sign_up(page: Page, app: Stack) -> str:
    name = f"user{next(_names)}"
    page.goto(f"{app.base}/accounts/signup/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    return name


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def last_answer(page: Page):
    return page.locator(".msg-assistant").last


def test_thinking_streams_then_the_answer_renders_as_markdown(page, app):
    sign_up(page, app)
    expect(page.get_by_text("simulator", exact=False).first).to_be_visible()
    send(page, "#think:120 #answer:200 How do I sort a list in Python?")
    answer = last_answer(page)
    label = answer.locator(".thinking-label")
    expect(label).to_have_text(re.compile(r"Thinking… [\d.]+ s · \d+ tokens"), timeout=15000)
    expect(answer.locator(".thinking")).to_have_attribute("open", "")
    thinking = answer.locator(".thinking-body")
    first = thinking.inner_text()
    page.wait_for_timeout(400)
    assert len(thinking.inner_text()) > len(first), "thinking grows while it streams"
    page.get_by_role("button", name="Stop").wait_for()
    # The answer starts: thinking collapses, markdown renders while streaming.
    expect(answer.locator(".answer h2")).to_be_visible(timeout=15000)
    expect(answer.locator(".thinking")).not_to_have_attribute("open", "")
    assert answer.get_attribute("data-status") == "streaming"
    expect(answer).to_have_attribute("data-status", "complete", timeout=20000)
    expect(answer.locator(".thinking-label")).to_have_text(
        re.compile(r"Thought for \d+ s · 120 tokens")
    )
    expect(answer.locator(".answer table")).to_be_visible()
    expect(answer.locator("pre code.hljs")).to_be_visible()
    expect(answer.get_by_role("button", name="Copy code")).to_be_visible()
    meta = answer.locator(".msg-meta")
    for figure in ("MiniMax-M1-40k", "TTFT", "tok/s", "thinking 120", "answer 200"):
        expect(meta).to_contain_text(figure)
    answer.locator(".thinking summary").click()  # reopen the collapsed thinking
    expect(answer.locator(".thinking")).to_have_attribute("open", "")
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_escape_stops_and_keeps_the_partial_answer(page, app):
    sign_up(page, app)
    send(page, "#think:10 #answer:4000 write a lot")
    answer = last_answer(page)
    expect(answer.locator(".answer h2")).to_be_visible(timeout=15000)
    # Stop once the answer has gone past its heading (the text kept is checked below).
    expect(answer.locator(".answer p").first).to_contain_text("direct answer", timeout=15000)
    page.keyboard.press("Escape")
    expect(answer).to_have_attribute("data-status", "stopped", timeout=5000)
    expect(answer.locator(".msg-note")).to_have_text(re.compile("Stopped"))
    kept = answer.locator(".answer").inner_text()
    assert kept.startswith("write a lot") and len(kept) > 20
    row = message_row(app, int(answer.get_attribute("data-message-id")))
    assert row["status"] == "stopped" and 0 < row["content_tokens"] < 4000


def test_reload_mid_stream_shows_everything_and_keeps_streaming(page, app, browser):
    sign_up(page, app)
    send(page, "#think:30 #answer:600 keep going")
    answer = last_answer(page)
    expect(answer.locator(".answer h2")).to_be_visible(timeout=15000)
    # A second tab on the same chat sees the same stream live.
    other = page.context.new_page()
    other.goto(page.url)
    other_answer = other.locator(".msg-assistant").last
    expect(other_answer.locator(".answer h2")).to_be_visible(timeout=5000)
    before = len(answer.locator(".answer").inner_text())
    page.reload()
    answer = last_answer(page)
    expect(answer.locator(".answer h2")).to_be_visible(timeout=5000)
    assert len(answer.locator(".answer").inner_text()) >= before * 0.9
    assert answer.get_attribute("data-status") == "streaming"
    expect(answer).to_have_attribute("data-status", "complete", timeout=30000)
    expect(other_answer).to_have_attribute("data-status", "complete", timeout=5000)
    message_id = int(answer.get_attribute("data-message-id"))
    row = message_row(app, message_id)
    assert row["content_tokens"] == 600
    shown = answer.locator(".answer").inner_text()
    assert shown == other_answer.locator(".answer").inner_text()
    other.close()


def test_errors_are_explained_and_retry_streams_a_new_answer(page, app):
    sign_up(page, app)
    send(page, "#fault:midstream explain")
    failed = last_answer(page)
    expect(failed).to_have_attribute("data-status", "failed", timeout=15000)
    expect(failed.get_by_role("alert")).to_contain_text("error in the middle of the answer")
    expect(failed.get_by_role("alert")).to_contain_text("partial text above is kept")
    failed.get_by_role("button", name="Retry").click()
    page.wait_for_load_state("load")
    answers = page.locator(".msg-assistant")
    expect(answers.last).to_have_attribute("data-status", re.compile("streaming|failed|complete"))


def test_empty_message_gets_a_clear_answer(page, app):
    sign_up(page, app)
    send(page, "first")
    expect(last_answer(page)).to_have_attribute("data-status", "complete", timeout=20000)
    page.get_by_role("textbox", name="Message").fill("   ")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_have_text("Write a message first.")
    assert page.locator(".msg-user").count() == 1


def test_new_chat_and_sidebar(page, app):
    sign_up(page, app)
    send(page, "Alpha topic")
    expect(last_answer(page)).to_have_attribute("data-status", "complete", timeout=20000)
    page.get_by_role("link", name="New chat").click()
    send(page, "Beta topic")
    expect(page.get_by_role("navigation", name="Chats").get_by_role("link")).to_have_count(2)
    page.get_by_role("navigation", name="Chats").get_by_role("link", name="Alpha topic").click()
    expect(page.locator(".msg-user")).to_have_text(["Alpha topic"])


CHAT_URL = re.compile(r"/chat/[0-9a-f-]{36}$")


def start_chat(page: Page, app: Stack) -> None:
    sign_up(page, app)
    send(page, "#think:5 #answer:10 hello")
    page.wait_for_url(CHAT_URL)


def save_settings(page: Page, values: dict[str, str], close: bool = True) -> None:
    """Open the drawer, fill fields by their labels, save, and see it saved."""
    page.get_by_role("button", name="Chat settings").click()
    for label, value in values.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved. The next answer uses these settings.")).to_be_visible()
    if close:
        page.get_by_role("button", name="Close settings").click()


def send_and_finish(page: Page, text: str):
    answers = page.locator(".msg-assistant")
    before = answers.count()
    send(page, text)
    expect(answers).to_have_count(before + 1)
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=20000)
    return answer


def test_a_second_message_in_a_chat_appears_once_and_finishes(page, app):
    """The websocket announces new messages and the send's own response carries them too;
    whichever comes first, each message is on the page once and its answer ends."""
    start_chat(page, app)
    expect(last_answer(page)).to_have_attribute("data-status", "complete", timeout=20000)
    for n in range(2):
        send_and_finish(page, f"#think:5 #answer:10 again {n}")
        ids = page.locator(".msg").evaluate_all("els => els.map(e => e.id)")
        assert len(ids) == len(set(ids)) == 4 + 2 * n, ids
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_settings_are_saved_from_the_drawer_and_a_bad_value_is_named(page, app):
    start_chat(page, app)
    page.get_by_role("button", name="Chat settings").click()
    page.get_by_role("button", name="Use the recommended maths system prompt").click()
    prompt = page.get_by_label("System prompt", exact=True)
    expect(prompt).to_have_value(re.compile(r"reason step by step"))
    page.get_by_label("Temperature").fill("7")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Temperature must be in [0, 2] here.")).to_be_visible()
    page.get_by_role("button", name="Close settings").click()
    save_settings(page, {"Temperature": "0.4", "Seed": "9"}, close=False)
    page.reload()
    page.get_by_role("button", name="Chat settings").click()
    expect(page.get_by_label("Temperature")).to_have_value("0.4")
    expect(page.get_by_label("Seed")).to_have_value("9")


def test_the_thinking_budget_stops_the_thinking_and_the_answer_follows(page, app):
    start_chat(page, app)
    save_settings(page, {"Max output tokens": "6000", "Thinking budget (tokens)": "1000"})
    answer = send_and_finish(page, "#tps:0 #think:3000 #answer:30 a hard one")
    expect(answer.locator(".msg-meta")).to_contain_text(
        "thinking stopped at the budget of 1,000 tokens"
    )
    expect(answer.locator(".answer h2")).to_have_text("a hard one")


def test_settings_reach_view_code_and_the_inspector(page, app):
    start_chat(page, app)
    save_settings(page, {"Temperature": "0.4", "Seed": "9", "Stop sequence 1": "THE END"})
    answer = send_and_finish(page, "#think:5 #answer:10 with settings")
    answer.get_by_role("link", name="Request details: view code and inspector").click()
    expect(page.get_by_role("heading", name="Request details")).to_be_visible()
    python = page.locator("code.language-python").first
    for fragment in ("'temperature': 0.4", "'seed': 9", "'stop': ['THE END']", "'stream': True"):
        expect(python).to_contain_text(fragment)
    page.get_by_text("curl", exact=True).click()
    expect(page.locator("code.language-bash").first).to_contain_text('"seed": 9')
    expect(page.get_by_text("Finish reason")).to_be_visible()
    expect(page.locator("dd", has_text="stop").first).to_be_visible()


def test_a_default_preset_is_what_new_chats_start_with(page, app):
    start_chat(page, app)
    save_settings(page, {"Temperature": "0.35"}, close=False)
    page.get_by_label("Save the chat's settings as a preset").fill("Cool")
    page.get_by_label("New chats in this workspace start with it").check()
    page.get_by_role("button", name="Save preset").click()
    expect(page.get_by_text("Saved the preset “Cool”.")).to_be_visible()
    expect(page.get_by_label("Preset", exact=True)).to_contain_text("Cool (default)")
    page.get_by_role("link", name="New chat").first.click()
    send(page, "#think:5 #answer:10 another")
    page.wait_for_url(CHAT_URL)
    page.get_by_role("button", name="Chat settings").click()
    expect(page.get_by_label("Temperature")).to_have_value("0.35")
