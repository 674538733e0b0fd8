"""Every frame a websocket carries, one builder per type (the README's websocket protocol).

Frames are plain dicts serialized as JSON. Times are ISO 8601 strings or null; ids are the
integer message ids and the chat's UUID as text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Frame = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def delta(
    message_id: int,
    seq: int,
    reasoning: str,
    content: str,
    *,
    reasoning_tokens: int,
    content_tokens: int,
    first_token_at: datetime | None,
    thinking_ended_at: datetime | None,
) -> Frame:
    """The text a streaming answer gained since frame ``seq - 1``, and its counts so far."""
    return {
        "type": "delta",
        "message_id": message_id,
        "seq": seq,
        "reasoning": reasoning,
        "content": content,
        "reasoning_tokens": reasoning_tokens,
        "content_tokens": content_tokens,
        "first_token_at": iso(first_token_at),
        "thinking_ended_at": iso(thinking_ended_at),
    }


def snapshot(
    message_id: int,
    seq: int,
    reasoning: str,
    content: str,
    *,
    started_at: datetime | None,
    first_token_at: datetime | None,
    thinking_ended_at: datetime | None,
) -> Frame:
    """A streaming answer's whole text up to frame ``seq``: a viewer who (re)connects, or saw
    a gap, starts from here."""
    return {
        "type": "snapshot",
        "message_id": message_id,
        "seq": seq,
        "reasoning": reasoning,
        "content": content,
        "started_at": iso(started_at),
        "first_token_at": iso(first_token_at),
        "thinking_ended_at": iso(thinking_ended_at),
    }


def final(message_id: int, seq: int, status: str, html: str) -> Frame:
    """An answer has ended: its server-rendered, sanitized HTML replaces the streamed text."""
    return {"type": "final", "message_id": message_id, "seq": seq, "status": status, "html": html}


def messages(chat_id, ids: list[int], html: str) -> Frame:
    """Messages added to a chat (by this tab, another tab or another person)."""
    return {"type": "messages", "chat_id": str(chat_id), "ids": ids, "html": html}


def document(document_id: int, status: str, progress: int, html: str) -> Frame:
    """A document's reading progressed or ended: its chip, rendered."""
    return {
        "type": "document",
        "document_id": document_id,
        "status": status,
        "progress": progress,
        "html": html,
    }


def ready(streaming_ids: list[int]) -> Frame:
    """Sent once on connect, after the state of every streaming answer."""
    return {"type": "ready", "streaming_ids": streaming_ids}


def pong() -> Frame:
    return {"type": "pong"}


def error(text: str) -> Frame:
    """A client frame was refused; nothing changed."""
    return {"type": "error", "message": text}
