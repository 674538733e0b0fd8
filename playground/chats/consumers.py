"""The chat websocket: authorize, join the chat's group, send the state, forward frames.

Client frames (JSON text, at most 4 KB): ``{"type": "resync", "message_id": N}`` and
``{"type": "ping"}``. Anything else gets an ``error`` frame and changes nothing.

Close codes: 4404, the chat is not there for this user (or no one is signed in); 4401, the
session ended (logged out, or the password changed).
"""

from __future__ import annotations

import json
import logging

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404

from playground.streaming import frames
from playground.streaming.buffer import frame_buffer
from playground.streaming.publisher import group_for, user_group
from playground.streaming.sockets import CLOSE_SESSION_ENDED, session_digest

from . import access
from .generation import final_frame
from .models import Chat, Message

logger = logging.getLogger(__name__)

MAX_CLIENT_FRAME_BYTES = 4096
CLOSE_NOT_FOUND = 4404


class ChatConsumer(AsyncWebsocketConsumer):
    """The websocket of one chat. A comparison's page uses the same protocol over the chats
    of all its columns (playground.comparisons.consumers)."""

    chat_ids: tuple = ()
    joined: tuple[str, ...] = ()
    session: str | None = None  # sockets.session_digest of the session it was opened with

    def authorized_chats(self) -> list[Chat]:
        """The chats this socket follows; Http404 when the user may not see them."""
        chat_id = self.scope["url_route"]["kwargs"]["chat_id"]
        return [access.any_chat_for(self.scope.get("user"), chat_id)]

    async def connect(self) -> None:
        try:
            chats = await database_sync_to_async(self.authorized_chats)()
        except Http404:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.chat_ids = tuple(s.pk for s in chats)
        self.joined = tuple(group_for(s.pk) for s in chats)
        user = self.scope.get("user")
        if getattr(user, "is_authenticated", False):
            # Told when this session logs out or the password changes (session_end).
            self.joined += (user_group(user.pk),)
            key = self.scope["session"].session_key
            self.session = session_digest(key) if key else None
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        streaming = await self._streaming_ids()
        for message_id in streaming:
            await self._send_state(message_id)
        await self._send(frames.ready(streaming))

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_CLIENT_FRAME_BYTES:
            await self._error("Frames must be JSON text of at most 4 KB.")
            return
        try:
            # orjson refuses deep nesting with a JSONDecodeError (json.loads: RecursionError).
            frame = orjson.loads(text_data)
        except orjson.JSONDecodeError:
            await self._error("The frame is not valid JSON.")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await self._send(frames.pong())
        elif kind == "resync":
            message_id = frame.get("message_id")
            if not isinstance(message_id, int) or isinstance(message_id, bool):
                await self._error("resync needs an integer message_id.")
                return
            await self._send_state(message_id)
        else:
            await self._error("Unknown frame type.")

    async def dispatch(self, message: dict) -> None:
        # channels closes stale database connections before every handler, through a thread
        # hop; for published frames, which touch no database, that hop was most of this
        # process's work at 200 streams (bench/RESULTS.md).
        if message.get("type") == "frame":
            await self.frame(message)
            return
        await super().dispatch(message)

    async def frame(self, event: dict) -> None:
        """A frame published to the chat's group."""
        await self._send(event["frame"])

    async def session_end(self, event: dict) -> None:
        """A session of this person ended: this one (or every one, ``session`` None)."""
        if event["session"] is None or event["session"] == self.session:
            await self.close(code=CLOSE_SESSION_ENDED)

    # --- helpers --------------------------------------------------------------------------

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def _error(self, text: str) -> None:
        await self._send(frames.error(text))

    @database_sync_to_async
    def _streaming_ids(self) -> list[int]:
        return list(
            Message.objects.filter(
                chat_id__in=self.chat_ids, status=Message.Status.STREAMING
            ).values_list("pk", flat=True)
        )

    @database_sync_to_async
    def _load(self, message_id: int) -> Message | None:
        return Message.objects.filter(chat_id__in=self.chat_ids, pk=message_id).first()

    async def _send_state(self, message_id: int) -> None:
        """A streaming message's text so far, or a finished message's final frame."""
        message = await self._load(message_id)
        if message is None:
            await self._error("No such message here.")
            return
        if not message.is_streaming:
            final = await database_sync_to_async(final_frame)(message.pk, message.stream_seq)
            await (self._send(final) if final else self._error("No such message here."))
            return
        # The saved text, exact up to frame stream_seq, and the kept frames that continue it:
        # never the kept frames alone, which after a Redis restart begin mid-text.
        seq, reasoning, content = message.stream_seq, message.reasoning, message.content
        try:
            kept = await frame_buffer().read(message.pk, after=seq)
        except Exception:  # Redis is restarting: the saved text stands, the browser resyncs
            logger.warning("reading the kept frames of %s failed", message.pk, exc_info=True)
            kept = None
        if kept is not None:
            seq, reasoning, content = kept.seq, reasoning + kept.reasoning, content + kept.content
        await self._send(
            frames.snapshot(
                message.pk,
                seq,
                reasoning,
                content,
                started_at=message.started_at or message.created_at,
                first_token_at=message.first_token_at,
                thinking_ended_at=message.thinking_ended_at,
            )
        )
