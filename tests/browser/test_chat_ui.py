"""The chat page in Chromium: maths typeset while streaming and after, following the stream
and the way back to it, an answer's actions, Esc on the settings drawer, refusals shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_chat import send, sign_up
from tests.support.stack import Stack, message_row

pytestmark = [pytest.mark.browser, pytest.mark.services]

CHAT_URL = re.compile(r"/chat/[0-9a-f-]{36}$")
FORMULAS = "els => els.map(e => e.textContent)"


def answers(page: Page):
    return page.locator(".msg-assistant")


def finished_answer(page: Page, text: str):
    before = answers(page).count()
    send(page, text)
    expect(answers(page)).to_have_count(before + 1)
    answer = page.locator("#" + answers(page).last.get_attribute("id"))  # this one, not the last
    expect(answer).to_have_attribute("data-status", "complete", timeout=30000)
    return answer


def test_maths_is_typeset_while_streaming_and_looks_the_same_after(page, app):
    sign_up(page, app)
    # The simulator's answer opens with the question as its heading, maths included.
    send(page, r"#think:5 #answer:500 #tps:50 Euler $e^{i\pi}+1=0$ costs $5 and $\boxed{42}$")
    answer = answers(page).last
    annotations = answer.locator('.answer h2 annotation[encoding="application/x-tex"]')
    expect(annotations).to_have_count(2, timeout=15000)
    assert answer.get_attribute("data-status") == "streaming"
    streamed = annotations.evaluate_all(FORMULAS)
    assert streamed == [r"e^{i\pi}+1=0", r"\boxed{42}"]
    box = answer.locator(".answer h2 math").nth(1).locator(".tml-fbox")
    expect(box).to_have_css("border-top-width", "1px")  # the frame, through a class
    assert "$5" in answer.locator(".answer h2").inner_text()  # a price, not maths

    expect(answer).to_have_attribute("data-status", "complete", timeout=30000)
    assert annotations.evaluate_all(FORMULAS) == streamed
    expect(answer.locator(".answer strong math")).to_have_count(2)  # "about **the question**"
    framed = answer.locator('.answer h2 menclose[notation="box"]')
    expect(framed).to_have_css("border-top-width", "1px")
    expect(answer.locator(".answer code.math-source")).to_have_count(0)


def test_a_formula_that_does_not_parse_shows_its_source(page, app):
    sign_up(page, app)
    answer = finished_answer(page, r"#think:3 #answer:60 broken $\frac{1}{$ formula")
    expect(answer.locator(".answer h2 code.math-source")).to_have_text(r"$\frac{1}{$")
    expect(answer.locator(".answer math")).to_have_count(0)


def messages_scroll(page: Page) -> dict:
    return page.locator("#messages").evaluate(
        "el => ({top: el.scrollTop, gap: el.scrollHeight - el.scrollTop - el.clientHeight})"
    )


def test_scrolling_up_stops_following_and_the_button_brings_the_reader_back(page, app):
    sign_up(page, app)
    send(page, "#think:5 #answer:4000 #tps:120 a long story")
    page.wait_for_url(CHAT_URL)
    answer = answers(page).last
    messages = page.locator("#messages")
    page.wait_for_function(
        "() => { const m = document.getElementById('messages');"
        " return m.scrollHeight > m.clientHeight + 1500; }",
        timeout=20000,
    )
    assert messages_scroll(page)["gap"] < 150, "the list follows the stream"
    jump = page.get_by_role("button", name="Scroll to the latest message")
    expect(jump).to_be_hidden()

    messages.hover()
    page.mouse.wheel(0, -1200)
    page.wait_for_timeout(300)
    where = messages_scroll(page)["top"]
    page.wait_for_timeout(800)
    assert answer.get_attribute("data-status") == "streaming"
    assert abs(messages_scroll(page)["top"] - where) < 2, "it stays where the reader is"
    expect(jump).to_be_visible()
    assert jump.inner_text() == "↓"
    # Round, above the composer, not over the message box.
    button, box = jump.bounding_box(), page.get_by_role("textbox", name="Message").bounding_box()
    assert button["y"] + button["height"] <= page.locator("#composer").bounding_box()["y"]
    assert button["y"] + button["height"] <= box["y"]
    assert jump.evaluate("e => getComputedStyle(e).borderRadius") == "50%"

    jump.click()
    expect(jump).to_be_hidden()
    assert messages_scroll(page)["gap"] < 4
    page.wait_for_timeout(600)
    assert answer.get_attribute("data-status") == "streaming"
    assert messages_scroll(page)["gap"] < 150, "following again"
    page.keyboard.press("Escape")
    expect(answer).to_have_attribute("data-status", "stopped", timeout=5000)


def test_an_answer_shows_its_actions_on_hover_and_focus_and_copies_its_markdown(page, app):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page, app)
    answer = finished_answer(page, r"#think:3 #answer:80 the *sum* $\sum_i x_i$")
    page.mouse.move(0, 0)
    page.get_by_role("textbox", name="Message").focus()
    bar = answer.get_by_role("group", name="Answer actions")
    copy = bar.get_by_role("button", name="Copy answer")
    retry = bar.get_by_role("button", name="Retry")
    expect(
        bar.get_by_role("link", name="Request details: view code and inspector")
    ).to_be_attached()
    assert answer.get_by_role("button", name="Retry").count() == 1, "one Retry, in the bar"
    opacity = "e => getComputedStyle(e).opacity"
    assert bar.evaluate(opacity) == "0"
    answer.hover()
    page.wait_for_function(
        "e => getComputedStyle(e).opacity === '1'", arg=bar.element_handle(), timeout=2000
    )
    page.mouse.move(0, 0)
    page.wait_for_function(
        "e => getComputedStyle(e).opacity === '0'", arg=bar.element_handle(), timeout=2000
    )
    retry.focus()  # keyboard users reach the actions
    page.wait_for_function(
        "e => getComputedStyle(e).opacity === '1'", arg=bar.element_handle(), timeout=2000
    )

    copy.focus()
    page.keyboard.press("Enter")
    copied = bar.locator("[data-copy-answer]")  # its name says "Copied" for a moment
    expect(copied).to_contain_text("Copied")
    expect(copied).to_have_accessible_name("Copied")
    source = message_row(app, int(answer.get_attribute("data-message-id")))["content"]
    assert r"the *sum* $\sum_i x_i$" in source
    assert page.evaluate("navigator.clipboard.readText()") == source
    expect(copy).to_have_text(re.compile(r"^\s*Copy\s*$"), timeout=3000)

    # A selection copies its formulas as LaTeX, not as the letters MathML shows.
    heading = answer.locator(".answer h2")
    expect(heading.locator("math")).to_have_count(1)
    heading.evaluate(
        "h => { const r = document.createRange(); r.selectNodeContents(h);"
        " getSelection().removeAllRanges(); getSelection().addRange(r); }"
    )
    page.keyboard.press("Control+C")
    assert page.evaluate("navigator.clipboard.readText()") == r"the sum $\sum_i x_i$"


def test_on_a_phone_the_actions_are_always_there(browser, app):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        sign_up(page, app)
        answer = finished_answer(page, "#think:3 #answer:20 small screen")
        bar = answer.get_by_role("group", name="Answer actions")
        assert bar.evaluate("e => getComputedStyle(e).opacity") == "1"
        expect(bar.get_by_role("button", name="Retry")).to_be_visible()
    finally:
        context.close()


def test_escape_closes_the_settings_drawer_and_focus_returns_to_its_button(page, app):
    sign_up(page, app)
    finished_answer(page, "#think:3 #answer:10 hello")
    page.wait_for_url(CHAT_URL)
    opener = page.get_by_role("button", name="Chat settings")
    drawer = page.get_by_role("complementary", name="Chat settings")
    opener.click()
    expect(drawer).to_be_visible()
    expect(opener).to_have_attribute("aria-expanded", "true")
    page.get_by_label("Temperature").focus()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-expanded", "false")

    # While an answer streams, the first Esc closes the drawer and the next one stops it.
    send(page, "#think:2000 #tps:40 think long")
    streaming = answers(page).last
    expect(streaming).to_have_attribute("data-status", "streaming")
    opener.click()
    expect(drawer).to_be_visible()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    page.wait_for_timeout(300)
    assert streaming.get_attribute("data-status") == "streaming"
    page.keyboard.press("Escape")
    expect(streaming).to_have_attribute("data-status", "stopped", timeout=5000)


def test_a_refused_retry_or_model_choice_says_why_and_changes_nothing(page, app: Stack):
    sign_up(page, app)
    first = finished_answer(page, "#think:3 #answer:10 first")
    send(page, "#think:2000 #tps:40 second")
    expect(answers(page)).to_have_count(2)
    expect(answers(page).last).to_have_attribute("data-status", "streaming")
    count = page.locator(".msg").count()

    first.hover()
    first.get_by_role("button", name="Retry").click()
    status = page.get_by_role("status").filter(has_text="still being written")
    expect(status).to_have_text(
        "An answer is still being written. Stop it or wait for it to finish."
    )
    assert page.locator("#action-status").get_attribute("aria-live") == "polite"
    page.wait_for_timeout(300)
    assert page.locator(".msg").count() == count
    expect(answers(page).last).to_have_attribute("data-status", "streaming")
    # Near the composer, and not over the message box.
    toast, box = status.bounding_box(), page.get_by_role("textbox", name="Message").bounding_box()
    assert toast["y"] + toast["height"] <= box["y"] and box["y"] - toast["y"] < 250

    # An option the provider no longer offers (say, removed since the page loaded).
    picker = page.get_by_role("combobox", name="Model")
    chosen = picker.input_value()
    stale = chosen.split(":")[0] + ":MiniMax-M1-9k"
    picker.evaluate("(s, v) => { s.options[s.options.length - 1].value = v; }", stale)
    picker.select_option(stale)
    expect(page.get_by_role("status").filter(has_text="does not offer")).to_have_text(
        "Simulator does not offer the model “MiniMax-M1-9k”."
    )
    expect(picker).to_have_value(chosen)
    page.keyboard.press("Escape")
