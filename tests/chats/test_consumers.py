"""The chat websocket: authorization, snapshots, ordered frames, resync, bad frames."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from playground.chats import actions
from playground.chats.generation import Generation
from playground.chats.models import Message
from playground.comparisons import actions as compare
from playground.llm.params import Params
from playground.streaming import buffer as streambuffer
from playground.streaming import publisher, runner
from playground.workspaces.access import personal_workspace
from tests.chats.helpers import new_chat
from tests.conftest import client_for
from tests.support.frames import assemble

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def on_this_loop(monkeypatch):
    """Run generations on the test's event loop, as the embedded server runs them on its own."""

    async def adopt():
        monkeypatch.setattr(runner, "_server_loop", asyncio.get_running_loop())

    return adopt


async def connect(user, chat_id, kind: str = "chat") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        client = await sync_to_async(client_for)(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/{kind}/{chat_id}/", headers=headers)
    return communicator


async def receive(communicator, timeout=10) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def read_until_final(communicator, message_id, frames=None) -> list[dict]:
    frames = frames if frames is not None else []
    while True:
        frame = await receive(communicator)
        frames.append(frame)
        if frame["type"] == "final" and frame["message_id"] == message_id:
            return frames


async def test_a_whole_reply_streams_in_order_and_ends_with_the_saved_text(
    owner, simulator, on_this_loop
):
    await on_this_loop()
    simulator.simulator_tokens_per_second = 400
    await simulator.asave()
    chat = await sync_to_async(new_chat)(owner, simulator)
    communicator = await connect(owner, chat.pk)
    connected, _ = await communicator.connect()
    assert connected
    assert await receive(communicator) == {"type": "ready", "streaming_ids": []}
    _, answer = await sync_to_async(actions.start_reply)(chat, owner, "Stream test")
    frames = await read_until_final(communicator, answer.pk)
    assert frames[0]["type"] == "messages" and len(frames[0]["ids"]) == 2
    deltas = [f for f in frames if f["type"] == "delta"]
    assert len(deltas) >= 3, "coalesced into several frames, not one"
    assert len(deltas) < 200, "coalesced, not one frame per token"
    seq, reasoning, content = assemble(frames, answer.pk)
    final = frames[-1]
    saved = await Message.objects.aget(pk=answer.pk)
    assert final["status"] == "complete" and final["seq"] == seq + 1
    assert reasoning.strip() == saved.reasoning and content == saved.content
    assert "Thought for" in final["html"] and "<h2>" in final["html"]
    await communicator.disconnect()


async def test_reconnecting_mid_stream_resumes_from_a_snapshot(owner, simulator, on_this_loop):
    await on_this_loop()
    simulator.simulator_tokens_per_second = 150
    await simulator.asave()
    chat = await sync_to_async(new_chat)(owner, simulator)
    first = await connect(owner, chat.pk)
    await first.connect()
    await receive(first)  # ready
    _, answer = await sync_to_async(actions.start_reply)(chat, owner, "#think:40 #answer:120 x")
    seen = []
    while len([f for f in seen if f["type"] == "delta"]) < 3:
        seen.append(await receive(first))
    await first.disconnect()
    seq_before, reasoning_before, _ = assemble(seen, answer.pk)

    second = await connect(owner, chat.pk)
    await second.connect()
    snapshot = await receive(second)
    assert snapshot["type"] == "snapshot" and snapshot["message_id"] == answer.pk
    assert snapshot["seq"] >= seq_before
    assert snapshot["reasoning"].startswith(reasoning_before)
    assert (await receive(second)) == {"type": "ready", "streaming_ids": [answer.pk]}
    frames = await read_until_final(second, answer.pk, [snapshot])
    _, reasoning, content = assemble(frames, answer.pk)
    saved = await Message.objects.aget(pk=answer.pk)
    assert reasoning.strip() == saved.reasoning and content == saved.content
    await second.disconnect()


async def test_a_gap_is_repaired_by_resync(owner, simulator, on_this_loop):
    await on_this_loop()
    simulator.simulator_tokens_per_second = 150
    await simulator.asave()
    chat = await sync_to_async(new_chat)(owner, simulator)
    communicator = await connect(owner, chat.pk)
    await communicator.connect()
    await receive(communicator)
    _, answer = await sync_to_async(actions.start_reply)(chat, owner, "#think:30 #answer:60 g")
    frame = await receive(communicator)
    while frame["type"] != "delta":
        frame = await receive(communicator)
    # Pretend frame 1 was lost: ask for the whole state.
    await communicator.send_to(text_data=json.dumps({"type": "resync", "message_id": answer.pk}))
    frames = await read_until_final(communicator, answer.pk)
    snapshot = next(f for f in frames if f["type"] == "snapshot")
    after = frames[frames.index(snapshot) :]
    _, reasoning, content = assemble(after, answer.pk)
    saved = await Message.objects.aget(pk=answer.pk)
    assert reasoning.strip() == saved.reasoning and content == saved.content
    await communicator.disconnect()


async def test_stop_over_http_reaches_the_live_viewer(owner, simulator, on_this_loop):
    await on_this_loop()
    simulator.simulator_tokens_per_second = 100
    await simulator.asave()
    chat = await sync_to_async(new_chat)(owner, simulator)
    communicator = await connect(owner, chat.pk)
    await communicator.connect()
    await receive(communicator)
    _, answer = await sync_to_async(actions.start_reply)(chat, owner, "#answer:3000 long")
    frame = await receive(communicator)
    while frame["type"] != "delta":
        frame = await receive(communicator)
    client = await sync_to_async(client_for)(owner)
    response = await sync_to_async(client.post)(f"/message/{answer.pk}/stop")
    assert response.status_code == 302
    frames = await read_until_final(communicator, answer.pk)
    assert frames[-1]["status"] == "stopped" and "Stopped." in frames[-1]["html"]
    await communicator.disconnect()


async def test_outsiders_and_anonymous_viewers_are_refused(owner, outsider, simulator):
    chat = await sync_to_async(new_chat)(owner, simulator)
    for user in (outsider, None):
        communicator = await connect(user, chat.pk)
        connected, code = await communicator.connect()
        assert not connected and code == 4404
    for bad in ("nope", "00000000-0000-0000-0000-000000000000"):
        communicator = await connect(owner, bad)
        connected, code = await communicator.connect()
        assert not connected


async def test_a_foreign_origin_is_refused(owner, simulator):
    chat = await sync_to_async(new_chat)(owner, simulator)
    client = await sync_to_async(client_for)(owner)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/chat/{chat.pk}/",
        headers=[
            (b"origin", b"https://evil.example"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.parametrize(
    "payload,error",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "Unknown frame type"),
        ('{"type": "launch"}', "Unknown frame type"),
        ('{"type": "resync", "message_id": "1"}', "integer message_id"),
        ('{"type": "resync", "message_id": true}', "integer message_id"),
        ('{"type": "resync", "message_id": 999999}', "No such message"),
        ('{"type": "ping", "pad": "' + "x" * 5000 + '"}', "at most 4 KB"),
        ("[" * 2000, "not valid JSON"),  # before: a RecursionError closed the socket
        ("[" * 2000 + "]" * 2000, "not valid JSON"),
    ],
)
async def test_bad_frames_get_an_error_and_change_nothing(owner, simulator, payload, error):
    chat = await sync_to_async(new_chat)(owner, simulator)
    communicator = await connect(owner, chat.pk)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_to(text_data=payload)
    frame = await receive(communicator)
    assert frame["type"] == "error" and error in frame["message"]
    await communicator.send_to(text_data='{"type": "ping"}')
    assert await receive(communicator) == {"type": "pong"}  # still connected
    await communicator.disconnect()


async def test_resync_cannot_read_another_chats_message(owner, outsider, simulator):
    theirs = await sync_to_async(new_chat)(outsider, simulator)
    secret = await Message.objects.acreate(
        chat=theirs, role="assistant", content="secret", status="complete"
    )
    mine = await sync_to_async(new_chat)(owner, simulator)
    communicator = await connect(owner, mine.pk)
    await communicator.connect()
    await receive(communicator)
    await communicator.send_to(text_data=json.dumps({"type": "resync", "message_id": secret.pk}))
    frame = await receive(communicator)
    assert frame == {"type": "error", "message": "No such message here."}
    await communicator.disconnect()


def start_three_columns(user, provider):
    columns = [
        compare.ColumnConfig(provider, model, Params(temperature=temperature))
        for model, temperature in (
            ("MiniMax-M1-40k", 1.0),
            ("MiniMax-M1-80k", 1.0),
            ("MiniMax-M1-40k", 0.5),
        )
    ]
    comparison = compare.start_comparison(
        user, personal_workspace(user), "#think:60 #answer:30 three at once", columns
    )
    answers = list(
        Message.objects.filter(chat__comparison=comparison, role="assistant")
        .order_by("chat__column")
        .values_list("pk", flat=True)
    )
    return comparison, answers


async def test_a_comparison_socket_streams_every_column(owner, simulator, on_this_loop):
    await on_this_loop()
    simulator.simulator_tokens_per_second = 60  # still streaming when the socket connects
    await simulator.asave()
    comparison, answers = await sync_to_async(start_three_columns)(owner, simulator)
    communicator = await connect(owner, comparison.pk, kind="compare")
    connected, _ = await communicator.connect()
    assert connected
    finals: dict[int, dict] = {}
    frames: list[dict] = []
    while len(finals) < 3:
        frame = await receive(communicator)
        frames.append(frame)
        if frame["type"] == "final":
            finals[frame["message_id"]] = frame
    assert sorted(finals) == sorted(answers)
    for answer_id in answers:  # each column's frames are whole and in order
        saved = await Message.objects.aget(pk=answer_id)
        assert any(f.get("message_id") == answer_id and f["type"] == "delta" for f in frames)
        _, _, content = assemble(frames, answer_id)
        assert content == saved.content
        assert finals[answer_id]["status"] == "complete"
    # A resync may ask for any column's answer, and nothing outside the comparison.
    await communicator.send_to(text_data=json.dumps({"type": "resync", "message_id": answers[2]}))
    assert (await receive(communicator))["message_id"] == answers[2]
    await communicator.disconnect()


async def test_outsiders_cannot_follow_a_comparison(owner, outsider, simulator):
    comparison, _ = await sync_to_async(start_three_columns)(owner, simulator)
    for user in (outsider, None):
        communicator = await connect(user, comparison.pk, kind="compare")
        connected, code = await communicator.connect()
        assert not connected and code == 4404
    await sync_to_async(runner.wait_idle)()


@pytest.fixture
def kept_frames(monkeypatch):
    """A fresh frame buffer of the embedded mode, as the consumer reads it."""
    buffer = streambuffer.MemoryFrameBuffer()
    monkeypatch.setattr(streambuffer, "_buffer", buffer)
    return buffer


async def streaming_answer(owner, simulator, seq: int, reasoning: str, content: str) -> Message:
    """An answer whose generation saved its text at frame ``seq`` (no generation runs)."""
    chat = await sync_to_async(new_chat)(owner, simulator)
    return await Message.objects.acreate(
        chat=chat,
        role="assistant",
        status="streaming",
        reasoning=reasoning,
        content=content,
        stream_seq=seq,
    )


async def first_snapshot(owner, answer: Message) -> dict:
    communicator = await connect(owner, answer.chat_id)
    connected, _ = await communicator.connect()
    assert connected
    snapshot = await receive(communicator)
    assert snapshot["type"] == "snapshot" and snapshot["message_id"] == answer.pk
    await communicator.disconnect()
    return snapshot


async def test_a_snapshot_is_the_saved_text_and_the_frames_after_it(owner, simulator, kept_frames):
    answer = await streaming_answer(owner, simulator, 3, "One two three", "")
    for seq, reasoning, content in [(1, "One", ""), (2, " two", ""), (3, " three", "")]:
        await kept_frames.append(answer.pk, seq, reasoning, content)
    for seq, reasoning, content in [(4, " four.", ""), (5, "", "Yes"), (6, "", ", five.")]:
        await kept_frames.append(answer.pk, seq, reasoning, content)
    snapshot = await first_snapshot(owner, answer)
    assert (snapshot["seq"], snapshot["reasoning"], snapshot["content"]) == (
        6,
        "One two three four.",
        "Yes, five.",
    )


async def test_without_the_early_frames_the_snapshot_starts_from_the_saved_text(
    owner, simulator, kept_frames
):
    """Redis restarted mid-stream: it keeps only the frames published since (7 and 8); the
    frames after the saved text (4 to 6) are gone. The saved text stands, not a mid-sentence
    fragment; the viewer catches up by resyncing when the next save covers the gap."""
    answer = await streaming_answer(owner, simulator, 3, "The whole thinking so far", "")
    for seq, reasoning in [(7, " and on"), (8, " and on.")]:
        await kept_frames.append(answer.pk, seq, reasoning, "")
    snapshot = await first_snapshot(owner, answer)
    assert (snapshot["seq"], snapshot["reasoning"]) == (3, "The whole thinking so far")

    # The next save reaches frame 6: the kept frames continue it.
    await Message.objects.filter(pk=answer.pk).aupdate(
        reasoning="The whole thinking so far, and more", stream_seq=6
    )
    snapshot = await first_snapshot(owner, answer)
    assert (snapshot["seq"], snapshot["reasoning"]) == (
        8,
        "The whole thinking so far, and more and on and on.",
    )


async def test_frames_older_than_the_saved_text_are_not_used(owner, simulator, kept_frames):
    answer = await streaming_answer(owner, simulator, 5, "Saved up to five", "")
    for seq in (2, 3, 4):  # left from before; 1 is gone and nothing follows 5
        await kept_frames.append(answer.pk, seq, f" {seq}", "")
    snapshot = await first_snapshot(owner, answer)
    assert (snapshot["seq"], snapshot["reasoning"]) == (5, "Saved up to five")


async def test_the_saved_partial_text_is_exactly_the_frames_up_to_its_seq(
    owner, simulator, kept_frames
):
    """What a snapshot continues from: text that arrived after the last frame (still pending
    in the coalescer) goes out as a frame before it is saved, else a snapshot would show it
    twice (saved, then again in the next frame)."""
    answer = await streaming_answer(owner, simulator, 0, "", "")
    generation = Generation(answer, {})
    generation.state.add("One", "")
    generation.coalescer.add("One", "")
    generation.flush()
    generation.state.add(" two", "")  # arrived after the last frame
    generation.coalescer.add(" two", "")
    row = generation.partial_row()
    for _ in range(200):  # the embedded publisher sends on this loop
        kept = await kept_frames.read(answer.pk)
        if kept is not None and kept.seq >= row.stream_seq:
            break
        await asyncio.sleep(0.01)
    assert (row.stream_seq, row.reasoning) == (2, "One two")
    assert (kept.seq, kept.reasoning) == (row.stream_seq, row.reasoning)
    await publisher.end_stream(answer.chat_id, answer.pk, None)


async def test_a_snapshot_while_redis_is_away_is_the_saved_text(
    owner, simulator, kept_frames, monkeypatch
):
    answer = await streaming_answer(owner, simulator, 4, "Saved up to four", "")

    async def restarting(*args, **kwargs):
        raise ConnectionError("Connection closed by server.")

    monkeypatch.setattr(kept_frames, "read", restarting)
    snapshot = await first_snapshot(owner, answer)  # before: the socket died (1011)
    assert (snapshot["seq"], snapshot["reasoning"]) == (4, "Saved up to four")
