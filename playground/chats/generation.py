"""One reply, from the provider to the database and the viewers (design §3).

``run_generation`` (the job "chats.generate") claims the assistant message, streams it through
the llm layer, publishes coalesced numbered frames, saves the partial text every second,
honours a stop between chunks, and finishes with one save, one charge (billing.actions) and
one final frame.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime

import openai
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from playground.billing import actions as billing
from playground.llm.client import (
    ProviderConfig,
    StreamOutcome,
    build_client,
    normalizer_for,
    stream_chat,
)
from playground.llm.coalesce import Coalescer
from playground.llm.errors import ErrorKind, ProviderError
from playground.llm.normalize import StreamNormalizer, ThinkingFormat
from playground.llm.params import Params
from playground.llm.tokens import estimate_messages_tokens, estimate_tokens
from playground.streaming import frames, publisher
from playground.streaming.cancellation import CancelRegistry
from playground.streaming.dispatch import job
from playground.streaming.looplocal import LoopLocal

from . import prompt
from .models import Message
from .rendering import render_markdown, render_message_html

logger = logging.getLogger(__name__)


@dataclass
class StreamState:
    """What has streamed so far; only the generation's own event loop touches it."""

    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    reasoning_chunks: int = 0
    content_chunks: int = 0
    first_token_at: datetime | None = None
    thinking_ended_at: datetime | None = None

    def add(self, reasoning: str, content: str) -> None:
        now = None
        if (reasoning or content) and self.first_token_at is None:
            now = timezone.now()
            self.first_token_at = now
        if reasoning:
            self.reasoning.append(reasoning)
            self.reasoning_chunks += 1
        if content:
            if self.thinking_ended_at is None:
                self.thinking_ended_at = now or timezone.now()
            self.content.append(content)
            self.content_chunks += 1

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def content_text(self) -> str:
        return "".join(self.content)


_clients: LoopLocal[dict[ProviderConfig, openai.AsyncOpenAI]] = LoopLocal(dict)


def client_for(config: ProviderConfig) -> openai.AsyncOpenAI:
    """One SDK client per provider configuration and event loop: connections are reused, and
    no SSL context is built per generation. A changed provider is a new configuration."""
    per_loop = _clients.get()
    client = per_loop.get(config)
    if client is None:
        client = per_loop[config] = build_client(config)
    return client


class StreamHub:
    """The generations running on one event loop: one ticker flushes each stream's pending text
    as a frame every interval, and about once a second one database call saves every stream's
    partial text. Per-stream timers and per-stream saves cost a loop wake-up and a thread hop
    each, which starved the loop at 200 streams (bench/RESULTS.md).

    Each stream keeps its own phase within the interval (the ticker runs several times per
    interval), so 200 streams make a steady flow of frames rather than a burst of 200 that
    every later stage (publisher, Redis, web process, browser) would queue up behind.
    """

    TICKS_PER_INTERVAL = 5

    def __init__(self) -> None:
        self.generations: set[Generation] = set()
        self.interval = settings.PLAYGROUND["FRAME_INTERVAL_SECONDS"]
        self.save_interval = settings.PLAYGROUND["SAVE_INTERVAL_SECONDS"]
        self._task: asyncio.Task | None = None
        self._saving: asyncio.Task | None = None

    def add(self, generation: Generation) -> None:
        # A random phase, so streams started together do not flush together.
        generation.next_flush_at = time.monotonic() + random.random() * self.interval
        self.generations.add(generation)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, generation: Generation) -> None:
        self.generations.discard(generation)

    async def _run(self) -> None:
        last_save = time.monotonic()
        while self.generations:
            tick = self.interval / self.TICKS_PER_INTERVAL
            await asyncio.sleep(tick)
            now = time.monotonic()
            for generation in list(self.generations):
                if now >= generation.next_flush_at:
                    # Half a tick early, so the tick that lands just short of it still flushes.
                    generation.next_flush_at = now + self.interval - tick / 2
                    generation.flush()
            saving = self._saving is not None and not self._saving.done()
            if not saving and time.monotonic() - last_save >= self.save_interval:
                last_save = time.monotonic()
                # Beside the tick, never in front of it: frames do not wait for the database.
                self._saving = asyncio.create_task(self._save(list(self.generations)))

    async def _save(self, generations: list[Generation]) -> None:
        ids = [g.message.pk for g in generations]
        rows = [row for g in generations if (row := g.partial_row()) is not None]
        try:
            await sync_to_async(save_partial_rows)(rows, ids)
        except Exception:
            logger.warning("saving partial text failed", exc_info=True)


def save_partial_rows(rows: list[Message], streaming_ids: list[int]) -> None:
    """The new partial text of some streams, and a heartbeat for all of them.

    One plain UPDATE statement run for every row (psycopg pipelines ``executemany``), not
    ``bulk_update``: its CASE expression for 200 rows took tens of milliseconds of Python in
    this thread, holding the GIL the event loop needs for every frame (bench/RESULTS.md).
    Only rows still streaming are touched, so a late save never overwrites a final answer.
    """
    now = timezone.now()
    ops = connection.ops
    table = ops.quote_name(Message._meta.db_table)
    streaming = Message.Status.STREAMING.value

    def when(value: datetime | None):
        return ops.adapt_datetimefield_value(value)

    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                # The table name comes from the model; every value is a parameter.
                f"UPDATE {table} SET reasoning = %s, content = %s, stream_seq = %s, "  # noqa: S608
                "first_token_at = %s, thinking_ended_at = %s, heartbeat_at = %s "
                "WHERE id = %s AND status = %s",
                [
                    (
                        row.reasoning,
                        row.content,
                        row.stream_seq,
                        when(row.first_token_at),
                        when(row.thinking_ended_at),
                        when(now),
                        row.pk,
                        streaming,
                    )
                    for row in rows
                ],
            )
    saved = {row.pk for row in rows}
    Message.objects.filter(
        pk__in=[pk for pk in streaming_ids if pk not in saved], status=streaming
    ).update(heartbeat_at=now)


hubs: LoopLocal[StreamHub] = LoopLocal(StreamHub)


class Generation:
    def __init__(self, message: Message, request: dict) -> None:
        self.message = message
        self.chat_id = message.chat_id
        self.state = StreamState()
        self.coalescer = Coalescer()
        self.normalizer: StreamNormalizer | None = None
        self.outcome = StreamOutcome()
        self.request = request
        self.requests = [request]  # as sent: a budget-forced answer adds its continuation
        self._saved_seq = 0
        self.next_flush_at = 0.0  # monotonic; the hub's ticker sets it
        self.finished = False

    # --- frames and partial saves ------------------------------------------------------------

    def flush(self) -> None:
        """Hand the pending text to the publisher as the next numbered frame (no waiting)."""
        batch = self.coalescer.take()
        if batch is None:
            return
        state = self.state
        frame = frames.delta(
            self.message.pk,
            batch.seq,
            batch.reasoning,
            batch.content,
            reasoning_tokens=state.reasoning_chunks,
            content_tokens=state.content_chunks,
            first_token_at=state.first_token_at,
            thinking_ended_at=state.thinking_ended_at,
        )
        publisher.stream_frame(
            self.chat_id, self.message.pk, frame, (batch.seq, batch.reasoning, batch.content)
        )

    def partial_row(self) -> Message | None:
        """The text so far to save, or None when nothing arrived since the last save."""
        # Pending text goes out as a frame first: the saved text is exactly frames 1 to seq,
        # which a snapshot continues with the kept frames after seq (chats/consumers.py).
        self.flush()
        seq = self.coalescer.seq
        if seq == self._saved_seq:
            return None
        self._saved_seq = seq
        return Message(
            pk=self.message.pk,
            reasoning=self.state.reasoning_text,
            content=self.state.content_text,
            stream_seq=seq,
            first_token_at=self.state.first_token_at,
            thinking_ended_at=self.state.thinking_ended_at,
        )

    # --- the stream --------------------------------------------------------------------------

    async def _pump(self) -> None:
        provider = self.message.provider
        if provider is None or not provider.enabled:
            raise ProviderError(ErrorKind.BAD_REQUEST, "The provider was removed or disabled.")
        config = provider.config()
        client = client_for(config)
        self.normalizer = normalizer_for(config)
        budget = Params.from_dict(self.message.params).thinking_budget
        if not await self._stream(client, self.request, budget):
            return
        # Budget forcing (design §4): the thinking reached the budget and its stream is
        # closed. Continue with the thinking closed, as an assistant prefill, so M1 answers.
        self.message.thinking_budget_hit = budget
        if not config.supports_prefill:
            raise ProviderError(ErrorKind.THINKING_BUDGET, f"budget {budget:,} tokens")
        continuation = prompt.continuation_request(
            self.request, self.state.reasoning_text, self.state.reasoning_chunks, config.kind
        )
        self.requests.append(continuation)
        # After a closed thinking everything that arrives is the answer; thinking again means
        # the provider ignored the prefill: stopped there, so the thinking shown and charged
        # stays at the budget whatever the provider does.
        self.normalizer = StreamNormalizer(ThinkingFormat.REASONING_CONTENT)
        if await self._stream(client, continuation, None, thinking_closed=True):
            raise ProviderError(ErrorKind.PREFILL_IGNORED, f"budget {budget:,} tokens")

    async def _stream(
        self,
        client: openai.AsyncOpenAI,
        request: dict,
        budget: int | None,
        *,
        thinking_closed: bool = False,
    ) -> bool:
        """Stream one request into the answer. True, with the stream closed, when the thinking
        reached ``budget`` before the answer began, or when it went on after being closed
        (``thinking_closed``)."""
        stream = stream_chat(client, request, self.normalizer, self.outcome)
        state = self.state
        # aclosing: a stop (cancellation) or the budget closes the upstream response now.
        async with aclosing(stream):
            async for split in stream:
                if thinking_closed and split.reasoning:
                    return True  # none of it is kept: the thinking stays at the budget
                first = state.first_token_at is None or (
                    split.content and state.thinking_ended_at is None
                )
                state.add(split.reasoning, split.content)
                self.coalescer.add(split.reasoning, split.content)
                if first:
                    self.flush()
                thinking = state.thinking_ended_at is None
                if budget is not None and thinking and state.reasoning_chunks >= budget:
                    return True
        return False

    async def run(self) -> None:
        cancel_event = stops.register(self.message.pk)
        streams = hubs.get()
        streams.add(self)
        pump = asyncio.create_task(self._pump())
        cancel_wait = asyncio.create_task(cancel_event.wait())
        status, error = Message.Status.COMPLETE, None
        try:
            await asyncio.wait({pump, cancel_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not pump.done():
                pump.cancel()  # closes the upstream response
                status = Message.Status.STOPPED
            await asyncio.gather(pump, return_exceptions=True)
            if status != Message.Status.STOPPED and pump.exception() is not None:
                status, error = Message.Status.FAILED, pump.exception()
        finally:
            cancel_wait.cancel()
            stops.unregister(self.message.pk)
            streams.discard(self)
        self.flush()
        await self.finish(status, error)

    async def finish(self, status: str, error: BaseException | None) -> None:
        """Save, charge and announce the end, once: a failure after the save (the frame) must
        not save and charge the answer a second time."""
        if self.finished:
            return
        seq = self.coalescer.seq + 1
        frame = None
        try:
            saved = await sync_to_async(self._save_final)(status, error, seq)
            # Saved and charged: from here on a failure must not do it again. A failed save
            # leaves it unset, so the caller's crash handler saves the answer as failed.
            self.finished = True
            frame = await sync_to_async(final_frame)(self.message.pk, seq) if saved else None
        finally:
            if self.finished:
                # The kept frames are dropped and viewers told, whatever happened after saving.
                await publisher.end_stream(self.chat_id, self.message.pk, frame)

    def _save_final(self, status: str, error: BaseException | None, seq: int) -> bool:
        """Save the finished answer and charge it; False if its chat was deleted meanwhile."""
        message = self.message
        message.reasoning = self.state.reasoning_text.strip()
        message.content = self.state.content_text
        message.content_html = render_markdown(message.content)
        message.status = status
        message.stream_seq = seq
        message.first_token_at = self.state.first_token_at
        message.thinking_ended_at = self.state.thinking_ended_at
        message.finished_at = timezone.now()
        message.heartbeat_at = message.finished_at
        if isinstance(error, ProviderError):
            # Scrubbed of keys by the llm client; the provider's raw body is kept apart below.
            message.error_kind, message.error_message = error.kind, error.message[:600]
        elif error is not None:
            logger.error("generation %s failed", message.pk, exc_info=error)
            message.error_kind = "internal"
            message.error_message = "Something went wrong while generating. Retry."
        normalizer = self.normalizer
        message.finish_reason = (normalizer.finish_reason if normalizer else None) or ""
        message.request_id = (self.outcome.request_id or "")[:200]
        message.retries = min(self.outcome.retries, 32767)
        usage = normalizer.usage if normalizer else None
        message.usage_raw = usage.raw if usage is not None else None
        if isinstance(error, ProviderError) and error.body:
            # The provider's own answer (scrubbed), for the instance admin's inspector only.
            message.usage_raw = {**(message.usage_raw or {}), "provider_error": error.body}
        # A budget-forced answer took two requests; the first one's usage is lost with it.
        reported = (
            usage is not None and usage.completion_tokens is not None and len(self.requests) == 1
        )
        if reported:
            message.prompt_tokens = usage.prompt_tokens
            reasoning = usage.reasoning_tokens
            if reasoning is None:
                reasoning = estimate_tokens(message.reasoning)
            message.reasoning_tokens = min(reasoning, usage.completion_tokens)
            message.content_tokens = usage.completion_tokens - message.reasoning_tokens
        else:
            message.prompt_tokens = sum(
                estimate_messages_tokens(r.get("messages", [])) for r in self.requests
            )
            # The counts the live view showed (a streamed chunk is a token), so a stopped
            # answer keeps the figures it had a moment before.
            message.reasoning_tokens = self.state.reasoning_chunks
            message.content_tokens = self.state.content_chunks
        message.usage_estimated = not reported
        cached = (usage.cached_tokens or 0) if reported else 0
        with transaction.atomic():
            # The chat may have been deleted while the answer was being written: never bring
            # its row back (a plain save would insert it again). What it used is still charged.
            row = Message.objects.select_for_update().filter(pk=message.pk)
            status_now = row.values_list("status", flat=True).first()
            if status_now is not None and status_now != Message.Status.STREAMING:
                # The sweeper declared it interrupted while this worker stalled, and charged
                # the text saved by then: that stays the answer, charged once.
                logger.warning("generation %s ended after it was declared interrupted", message.pk)
                return False
            exists = status_now is not None
            if exists:
                message.save(force_update=True)
            billing.charge_answer(spend_of(message, cached), answer_exists=exists)
        return exists


def spend_of(message: Message, cached_tokens: int = 0) -> billing.Spend:
    """What an answer used, for billing, from the counts saved on it."""
    reasoning, content = message.reasoning_tokens or 0, message.content_tokens or 0
    return billing.Spend(
        message_id=message.pk,
        workspace_id=message.chat.workspace_id,
        chat_id=message.chat_id,
        user_id=message.author_id,
        provider=message.provider,
        provider_name=message.provider_name,
        model=message.model,
        asked_at=message.created_at,
        prompt_tokens=message.prompt_tokens or 0,
        cached_tokens=cached_tokens,
        completion_tokens=reasoning + content,
        reasoning_tokens=reasoning,
        estimated=message.usage_estimated,
        # A request refused before any token (an HTTP error) is not billed by providers.
        billable=not (message.status == Message.Status.FAILED and message.first_token_at is None),
    )


def charge_interrupted(message_ids: list[int]) -> None:
    """Answers whose generation died (a restarted server, a lost worker): what they used is
    estimated from the text they saved, recorded as estimated, and their reservations settled
    to it. An answer that never got a token cost nothing."""
    for message in Message.objects.filter(pk__in=message_ids).select_related("chat", "provider"):
        if message.first_token_at is not None:
            request = prompt.build_request(message)
            message.prompt_tokens = estimate_messages_tokens(request["messages"])
            message.reasoning_tokens = estimate_tokens(message.reasoning)
            message.content_tokens = estimate_tokens(message.content)
            message.usage_estimated = True
            message.save(
                update_fields=[
                    "prompt_tokens",
                    "reasoning_tokens",
                    "content_tokens",
                    "usage_estimated",
                ]
            )
        billing.charge_answer(spend_of(message))


def final_frame(message_id: int, seq: int) -> frames.Frame | None:
    """The end of an answer as viewers see it; None when the answer is gone (its chat was
    deleted)."""
    message = Message.objects.select_related("chat", "provider").filter(pk=message_id).first()
    if message is None:
        return None
    return frames.final(message.pk, seq, message.status, render_message_html(message))


def release_if_gone(message_id: int) -> None:
    """An answer whose chat was deleted before its generation started used nothing: its
    reservation is released (a second settle of a claimed answer's changes nothing)."""
    if not Message.objects.filter(pk=message_id).exists():
        billing.settle(message_id, 0)


def claim(message_id: int) -> tuple[Message, dict] | None:
    """Take the message for this worker and build its request; None when it is already taken
    or finished. A Celery task redelivered after the broker's visibility timeout finds the
    claim and stops. One function, so one thread hop before the request is sent."""
    now = timezone.now()
    taken = Message.objects.filter(
        pk=message_id, status=Message.Status.STREAMING, claimed_at__isnull=True
    ).update(claimed_at=now, started_at=now, heartbeat_at=now)
    if not taken:
        return None
    message = Message.objects.select_related("provider", "chat").get(pk=message_id)
    return message, prompt.build_request(message)


async def _stopped_among(message_ids: list[int]) -> list[int]:
    """The answers asked to stop, and those no longer streaming: the sweeper declared them
    interrupted while their worker stalled (they were charged then; the worker stops)."""
    return [
        pk
        async for pk in Message.objects.filter(pk__in=message_ids)
        .filter(Q(cancel_requested=True) | ~Q(status=Message.Status.STREAMING))
        .values_list("pk", flat=True)
    ]


# The answers being written in this process; a stop sets the flag, then wakes the answer here.
stops = CancelRegistry(_stopped_among)


@job("chats.generate")
async def run_generation(message_id: int) -> None:
    claimed = await sync_to_async(claim)(message_id)
    if claimed is None:
        logger.info("generation %s already claimed or finished; skipping", message_id)
        await sync_to_async(release_if_gone)(message_id)
        return
    message, request = claimed
    generation = Generation(message, request)
    try:
        await generation.run()
    except Exception as exc:  # never leave a message streaming forever
        logger.exception("generation %s crashed", message_id)
        await generation.finish(Message.Status.FAILED, exc)
