"""Production mode end to end: PostgreSQL, channels-redis, a real Celery worker (Redis broker)
and daphne, driven over HTTP and websockets like a browser does."""

from __future__ import annotations

import pytest

from tests.support.frames import assemble
from tests.support.stack import Stack, User, message_row, next_frame

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def stack():
    with Stack.production(tokens_per_second=200) as running:
        yield running


@pytest.fixture(scope="module")
def ann(stack):
    return User(stack, "ann").sign_up()


async def read_until_final(ws, message_id: int, frames: list[dict] | None = None) -> list[dict]:
    frames = frames if frames is not None else []
    while True:
        frame = await next_frame(ws)
        frames.append(frame)
        if frame["type"] == "final" and frame["message_id"] == message_id:
            return frames


async def test_a_reply_streams_through_celery_and_redis_and_is_saved(stack, ann):
    chat = ann.new_chat()
    async with ann.websocket(chat) as ws:
        assert (await next_frame(ws))["type"] == "ready"
        answer = ann.send(chat, "#think:60 #answer:120 Production path")
        frames = await read_until_final(ws, answer)
    deltas = [f for f in frames if f["type"] == "delta"]
    assert 3 <= len(deltas) < 180
    _, reasoning, content = assemble(frames, answer)
    row = message_row(stack, answer)
    assert row["status"] == "complete" and not row["usage_estimated"]
    assert reasoning.strip() == row["reasoning"] and content == row["content"]
    assert row["reasoning_tokens"] == 60 and row["content_tokens"] == 120
    usage = stack.query(
        "SELECT COUNT(*), MAX(completion_tokens) FROM billing_usagerecord WHERE message_id = ?",
        answer,
    )
    assert usage == [(1, 180)]


async def test_stop_ends_the_generation_in_the_worker(stack, ann):
    chat = ann.new_chat()
    async with ann.websocket(chat) as ws:
        await next_frame(ws)
        answer = ann.send(chat, "#think:20 #answer:5000 a long one")
        frames = []
        while len([f for f in frames if f["type"] == "delta"]) < 10:
            frames.append(await next_frame(ws))
        assert ann.stop(answer) == 302
        frames = await read_until_final(ws, answer, frames)
    assert frames[-1]["status"] == "stopped"
    row = message_row(stack, answer)
    assert row["status"] == "stopped" and row["usage_estimated"]
    assert 0 < row["content_tokens"] < 5000
    _, _, content = assemble(frames, answer)
    assert content == row["content"]  # the viewer saw exactly what was kept


async def test_reconnecting_mid_stream_continues_the_same_reply(stack, ann):
    chat = ann.new_chat()
    async with ann.websocket(chat) as ws:
        await next_frame(ws)
        answer = ann.send(chat, "#think:40 #answer:300 reconnect")
        first = []
        while len([f for f in first if f["type"] == "delta"]) < 5:
            first.append(await next_frame(ws))
    seq_before, reasoning_before, _ = assemble(first, answer)
    async with ann.websocket(chat) as ws:
        snapshot = await next_frame(ws)
        assert snapshot["type"] == "snapshot" and snapshot["seq"] >= seq_before
        assert snapshot["reasoning"].startswith(reasoning_before)
        frames = await read_until_final(ws, answer, [snapshot])
    _, reasoning, content = assemble(frames, answer)
    row = message_row(stack, answer)
    assert row["status"] == "complete"
    assert reasoning.strip() == row["reasoning"] and content == row["content"]


async def test_an_outsider_cannot_subscribe(stack, ann):
    chat = ann.new_chat()
    mallory = User(stack, "mallory").sign_up()
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with mallory.websocket(chat) as ws:
            await next_frame(ws, timeout=5)
    assert mallory.http.get(f"/chat/{chat}").status_code == 404


async def test_a_document_is_read_by_the_worker_with_progress_and_used(stack, ann):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(40):
            archive.writestr(f"src/module_{n}.py", f"def f{n}():\n    return {n}\n" * 50)
        archive.writestr("docs/README.md", "# Repo\n\nThe deploy password hint is ALBATROSS.\n")
        archive.writestr("node_modules/x/index.js", "skipped")
        archive.writestr("logo.png", bytes(range(256)) * 4)
    chat = ann.new_chat()
    async with ann.websocket(chat) as ws:
        assert (await next_frame(ws))["type"] == "ready"
        response = ann.upload(chat, "repo.zip", buffer.getvalue())
        assert response.status_code == 200, response.text
        statuses = []
        while not statuses or statuses[-1] not in ("ready", "failed"):
            frame = await next_frame(ws)
            if frame["type"] == "document":
                statuses.append(frame["status"])
                html = frame["html"]
        assert statuses[-1] == "ready", html
        assert "41 files" in html and "2 skipped" in html
        answer = ann.send(chat, "#think:5 #answer:40 What is the deploy password hint?")
        await read_until_final(ws, answer)
    row = message_row(stack, answer)
    assert "The deploy password hint is ALBATROSS." in row["content"]
    assert "(repo.zip)" in row["content"]


async def test_celery_beat_sweeps_an_answer_whose_worker_died():
    """No one looks at the chat: the sweeper (Celery beat, as deployed) ends the answer as
    interrupted, releases its hold, and tells any viewer."""
    import asyncio

    env = {"PLAYGROUND_SWEEP_SECONDS": "1", "PLAYGROUND_STALE_STREAM_SECONDS": "3"}
    with Stack.production(tokens_per_second=200, extra_env=env) as stack:
        bob = User(stack, "bob").sign_up()
        chat = bob.new_chat()
        answer = bob.send(chat, "#think:5 #answer:5 short")
        for _ in range(100):
            if message_row(stack, answer)["status"] == "complete":
                break
            await asyncio.sleep(0.1)
        # As if its worker had been killed mid-answer: streaming, silent for a minute.
        stack.execute(
            "UPDATE chats_message SET status = 'streaming', "
            "heartbeat_at = NOW() - INTERVAL '1 minute' WHERE id = ?",
            answer,
        )
        async with bob.websocket(chat) as ws:
            frame = await next_frame(ws)
            while frame["type"] != "final":
                frame = await asyncio.wait_for(next_frame(ws), timeout=20)
        assert frame["message_id"] == answer and frame["status"] == "failed"
        row = message_row(stack, answer)
        assert row["status"] == "failed" and row["error_kind"] == "interrupted"
