"""The chat websocket: authorization, snapshots, ordered frames, resync, bad frames."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from playground.chats import actions
from playground.chats.models import Message
from playground.comparisons import actions as compare
from playground.llm.params import Params
from playground.streaming import runner
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
