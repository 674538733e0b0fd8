"""The live view follows the server's policy for model output (design §6): raw HTML the model
wrote is shown as text, as the final rendering shows it (playground/chats/rendering.py), and
only the server's tags and attributes stay, maths included."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from playground.chats import rendering
from tests.browser.test_chat import send, sign_up

CHAT_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "chat.js"

HOSTILE = """<style>.answer { display: none }</style>

<form action="/accounts/logout/" method="post"><button>Continue</button></form>

<details open><summary>Open me</summary>hidden text</details>

Inline <img src=x onerror=alert(1)>, <b>bold</b>, <a href="javascript:alert(1)">js</a>.

[a link](javascript:alert(2)) and [the docs](https://example.com/docs),
![pic](data:image/png;base64,AAAA)

```python
print("<b>code stays code</b>")
```

Maths still works: $e^{i\\pi}+1=0$ and $\\boxed{42}$.
"""

RAW_HTML_SHOWN_AS_TEXT = [
    "<style>.answer { display: none }</style>",
    '<form action="/accounts/logout/" method="post"><button>Continue</button></form>',
    "<details open><summary>Open me</summary>hidden text</details>",
    "<img src=x onerror=alert(1)>",
    "<b>bold</b>",
]


def test_the_live_renderer_keeps_the_servers_allow_list():
    """chat.js carries the server's tags and attributes; a change to one is a change to both."""
    found = re.search(r"const SANITIZER = (\{.*?\n  \});", CHAT_JS.read_text(), re.S)
    assert found, "chat.js has its SANITIZER policy"
    policy = json.loads(found[1])
    assert sorted(policy["tags"]) == sorted(rendering._TAGS)
    assert len(policy["tags"]) == len(set(policy["tags"]))
    assert {tag: set(names) for tag, names in policy["attributes"].items()} == (
        rendering._ATTRIBUTES
    )
    assert policy["url_schemes"] == ["http", "https", "mailto"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)


def html_tags(html: str) -> set[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def streaming_answer_with(page: Page, content: str) -> int:
    """The id of a streaming answer whose live view shows ``content``: the server's frames
    reach the page through a route that sends one more snapshot (a later seq than any real
    frame) after the server's ``ready``."""
    send(page, "#think:2 #answer:3000 #tps:4 a slow answer")
    answer = page.locator(".msg-assistant").last
    expect(answer).to_have_attribute("data-status", "streaming", timeout=15000)
    page.wait_for_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    message_id = int(answer.get_attribute("data-message-id"))
    snapshot = {
        "type": "snapshot",
        "message_id": message_id,
        "seq": 1_000_000,
        "reasoning": "Thinking.",
        "content": content,
        "started_at": None,
        "first_token_at": None,
        "thinking_ended_at": None,
    }

    def route(ws) -> None:
        server = ws.connect_to_server()

        def from_server(message) -> None:
            ws.send(message)
            if json.loads(message)["type"] == "ready":
                ws.send(json.dumps(snapshot))

        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/chat/"), route)
    page.reload()
    return message_id


@pytest.mark.browser
@pytest.mark.services
def test_raw_html_in_a_streaming_answer_is_text_as_in_the_final_rendering(page, app):
    sign_up(page, app)
    message_id = streaming_answer_with(page, HOSTILE)
    answer = page.locator(f"#message-{message_id}")
    live = answer.locator(".answer")
    expect(live.locator("math")).to_have_count(2, timeout=10000)
    assert answer.get_attribute("data-status") == "streaming"

    shown = live.inner_text()
    for raw in RAW_HTML_SHOWN_AS_TEXT:
        assert raw in shown, raw
    # What the page added after sanitizing is left out: highlight.js's spans, the copy button.
    tags = set(
        live.evaluate(
            "el => [...el.querySelectorAll('*')]"
            ".filter(e => !e.matches('pre span, pre .copy-code')).map(e => e.localName)"
        )
    )
    assert not tags & {"style", "form", "details", "summary", "b", "input", "script", "button"}
    assert live.locator("img[onerror], img[src^='data:'], a[href^='javascript']").count() == 0
    docs = live.locator("a[href='https://example.com/docs']")
    expect(docs).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(live.locator("pre code.language-python")).to_contain_text('print("<b>code stays code')
    expect(live.locator("math .tml-fbox")).to_have_count(1)  # temml's class, for \boxed
    expect(live.locator('annotation[encoding="application/x-tex"]')).to_have_count(2)

    # The final rendering (the server's) escapes the same raw HTML; outside the maths (temml
    # in the page, latex2mathml on the server) both keep the same kinds of elements.
    server = rendering.render_markdown(HOSTILE)
    assert "&lt;style&gt;" in server and "&lt;details open&gt;" in server
    html_only = {tag for tag in tags if tag not in rendering._MATH_TAGS}
    assert html_only == {t for t in html_tags(server) if t not in rendering._MATH_TAGS}

    page.keyboard.press("Escape")  # stop the slow answer behind the page
    expect(answer).to_have_attribute("data-status", "stopped", timeout=10000)
