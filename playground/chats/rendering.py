"""Markdown from the model, rendered on the server and sanitized with an allow-list.

Model output is untrusted: raw HTML in it is escaped by the renderer, and nh3 removes anything
outside the allow-list (scripts, event handlers, javascript: links) from what remains.
"""

from __future__ import annotations

import nh3
from django.template.loader import render_to_string
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable(
    ["table", "strikethrough", "linkify"]
)

_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "span",
    "sup",
    "sub",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "ol": {"start"},
}


def _allowed_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        # Only the language marker highlight.js reads.
        return value if value.startswith("language-") and value[9:].isidentifier() else None
    return value


def render_markdown(text: str) -> str:
    if not text:
        return ""
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_allowed_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_message_html(message) -> str:
    """One message as the chat shows it: for pages, for the frames that add messages, and for
    an answer's final frame."""
    return render_to_string("chats/chat.html#message", {"message": message})
