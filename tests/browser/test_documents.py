"""Documents in Chromium: pick two files, watch them upload and be read, see the tokens of each
and the context meter, send, and find them used in the answer; a bad file fails alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat import sign_up

pytestmark = [pytest.mark.browser, pytest.mark.services]

# Every status a document chip shows, in order, recorded as the page changes.
# (Kept in sessionStorage: the page moves to the new chat in between.)
RECORD_STATUSES = """
window.__statuses = JSON.parse(sessionStorage.getItem('statuses') || '[]');
new MutationObserver(() => {
  document.querySelectorAll('.doc-chip').forEach((chip) => {
    const seen = chip.querySelector('.doc-name')?.textContent + ':' + chip.dataset.status;
    if (window.__statuses.indexOf(seen) === -1) window.__statuses.push(seen);
  });
  sessionStorage.setItem('statuses', JSON.stringify(window.__statuses));
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


def test_two_documents_are_read_counted_metered_and_used(page, app, tmp_path):
    notes = tmp_path / "launch-notes.md"
    notes.write_text("# Launch\n\nThe launch code word is PELICAN.\n\n" + "Filler prose. " * 3000)
    code = tmp_path / "rocket.py"
    code.write_text("def ignite(stage: int) -> bool:\n    return stage > 0\n" * 400)
    sign_up(page, app)
    page.add_init_script(RECORD_STATUSES)
    page.reload()
    page.get_by_role("button", name="Attach files").wait_for()
    page.locator("[data-upload-input]").set_input_files([str(notes), str(code)])
    # The first file made a chat for them; the page goes there once both are uploaded.
    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f-]+$"), timeout=20000)
    chips = page.get_by_role("list", name="Attached documents").locator(".doc-chip")
    expect(chips).to_have_count(2)
    for chip in (chips.nth(0), chips.nth(1)):
        expect(chip).to_have_attribute("data-status", "ready", timeout=20000)
    expect(chips.nth(0)).to_contain_text("launch-notes.md")
    expect(chips.nth(0)).to_contain_text(re.compile(r"[\d,]+ characters · ~[\d,]+ tokens"))
    expect(chips.nth(1)).to_contain_text("rocket.py")
    meter = page.locator("#context-meter")
    expect(meter).to_contain_text("/ 1,000,000 tokens")
    expect(meter).to_contain_text(re.compile(r"next request ≈ \$0\.\d+"))
    meter.get_by_text("What the next request holds").click()
    expect(meter.get_by_role("row", name=re.compile("launch-notes.md"))).to_be_visible()
    expect(meter.get_by_role("row", name=re.compile("rocket.py"))).to_be_visible()
    before = meter.locator(".meter-line strong").first.inner_text()

    box = page.get_by_role("textbox", name="Message")
    box.fill("#think:20 #answer:60 What is the launch code word?")
    expect(meter.get_by_role("row", name=re.compile("Your message"))).to_be_attached(timeout=5000)
    box.press("Enter")
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_attribute("data-status", "complete", timeout=20000)
    expect(answer.locator(".answer")).to_contain_text("“The launch code word is PELICAN.”")
    expect(answer.locator(".answer")).to_contain_text("launch-notes.md")
    expect(page.locator("#context-meter .meter-line strong").first).not_to_have_text(before)

    # A bad file fails alone, with its reason, and the others stay.
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    page.locator("[data-upload-input]").set_input_files([str(empty)])
    failed = page.locator(".doc-chip.is-failed")
    expect(failed).to_contain_text("“empty.txt” is empty.")
    expect(page.locator('.doc-chip[data-status="ready"]')).to_have_count(2)

    # Dropping a file on the chat adds it too.
    drop = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(['Dropped text about herons.'], 'dropped.txt',
                                    { type: 'text/plain' }));
            return data;
        }"""
    )
    page.dispatch_event("#chat", "dragenter", {"dataTransfer": drop})
    expect(page.locator(".drop-overlay")).to_be_visible()
    page.dispatch_event("#chat", "drop", {"dataTransfer": drop})
    expect(page.locator(".drop-overlay")).to_be_hidden()
    dropped = page.locator(".doc-chip", has_text="dropped.txt")
    expect(dropped).to_have_attribute("data-status", "ready", timeout=20000)

    statuses = page.evaluate("window.__statuses")
    for name in ("launch-notes.md", "rocket.py"):
        seen = [s.split(":")[1] for s in statuses if s.startswith(name + ":")]
        assert "uploading" in seen, statuses  # the upload bar was shown
    # The library lists both, with what the model reads.
    page.get_by_role("link", name="Documents").click()
    page.get_by_role("link", name="launch-notes.md").click()
    expect(page.locator(".doc-text")).to_contain_text("The launch code word is PELICAN.")
