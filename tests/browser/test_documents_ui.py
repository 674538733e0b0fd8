"""Many documents in Chromium: they fold into one line, so the conversation and the composer stay
in sight on a laptop and on a phone; a failed one stays in the open with its reason and its ways
out; "Add from library" follows what the chat has."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat import send_and_finish, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.services]

VIEWPORTS = [(1366, 900), (390, 844)]


def test_nine_documents_leave_the_conversation_and_the_composer_in_sight(page, app, tmp_path):
    good = []
    for n in range(1, 9):
        path = tmp_path / f"chapter-{n}.md"
        path.write_text(f"# Chapter {n}\n\n" + f"Prose of chapter {n}. " * (400 * n))
        good.append(str(path))
    bad = tmp_path / "scan.bin"
    bad.write_bytes(bytes(range(256)) * 64)  # not text, in no format that is read

    sign_up(page, app)
    page.wait_for_load_state("load")  # documents.js listens for the files
    page.locator("[data-upload-input]").set_input_files(good)
    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f-]+$"), timeout=30000)
    expect(page.locator('.doc-chip[data-status="ready"]')).to_have_count(8, timeout=30000)
    send_and_finish(page, "#think:10 #answer:400 What do the chapters say?")
    page.locator("[data-upload-input]").set_input_files([str(bad)])
    failed = page.locator(".doc-chip", has_text="scan.bin")
    expect(failed).to_have_attribute("data-status", "failed", timeout=20000)

    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        box = page.get_by_role("textbox", name="Message")
        expect(box).to_be_in_viewport(ratio=1)
        messages = page.locator("#messages").bounding_box()
        assert messages["height"] >= height / 2, (width, height, messages)
        # The failed one is in sight, with why and what to do; the read ones are folded away.
        expect(failed).to_be_in_viewport()
        expect(failed).to_contain_text("not a text file")
        expect(failed.get_by_role("button", name="Retry reading scan.bin")).to_be_visible()
        expect(failed.get_by_role("button", name="Detach scan.bin")).to_be_visible()
        expect(page.locator("#doc-group-chips .doc-chip").first).to_be_hidden()
        meter_line = page.locator("#context-meter .meter-line")
        line_height = float(meter_line.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert meter_line.bounding_box()["height"] <= line_height + 1  # one line

    # One line says how many and how much; the tokens are the read documents' own.
    page.set_viewport_size({"width": 1366, "height": 900})
    group = page.locator("#doc-group")
    tokens = page.evaluate(
        "Array.from(document.querySelectorAll('#doc-group-chips .doc-chip'))"
        ".reduce((sum, chip) => sum + Number(chip.dataset.tokens), 0)"
    )
    expect(group.locator("summary")).to_have_text(f"8 documents · {tokens:,} tokens")
    group.locator("summary").click()
    expect(page.locator("#doc-group-chips .doc-chip")).to_have_count(8)
    expect(page.locator("#doc-group-chips .doc-chip").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Message")).to_be_in_viewport(ratio=1)

    # Detached, the failed one is gone and the send is no longer held.
    failed.get_by_role("button", name="Detach scan.bin").click()
    expect(failed).to_have_count(0)
    picker = page.locator("#library-pick")
    expect(picker).to_be_hidden()  # every read document of the library is in the chat

    # Down to three, the chips are chips again; the detached ones go back to the library.
    for n in range(1, 6):
        page.get_by_role("button", name=f"Detach chapter-{n}.md").click()
    expect(group).to_be_hidden()
    chips = page.get_by_role("list", name="Attached documents").locator(".doc-chip")
    expect(chips).to_have_count(3)
    picker.locator("summary").click()
    choices = page.locator("#library-choice option")
    expect(choices).to_have_count(5)
    chapter_2 = page.locator("#library-choice option", has_text="chapter-2.md")
    page.get_by_label("Document from the library").select_option(chapter_2.get_attribute("value"))
    picker.get_by_role("button", name="Attach").click()
    # The fourth folds them again, and the picker offers it no more.
    expect(group.locator("summary")).to_have_text(re.compile(r"^4 documents · [\d,]+ tokens$"))
    expect(choices).to_have_count(4)
    expect(chapter_2).to_have_count(0)
