"""A Redis restarted mid-answer (issue 11): the kept frames are gone and the frames published
since start mid-text, yet no viewer sees less than the text the generation saved, a viewer
who stays connected catches up, and the first connections after the restart open.

The production mode as the README deploys it (PostgreSQL, Celery worker and beat, uvicorn)
on a Redis of this test's own, on another port, which it stops and starts again."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from tests.support import services
from tests.support.stack import Stack, User, free_port, message_row, next_frame

pytestmark = pytest.mark.services


class OwnRedis:
    """A redis-server of the test's own that forgets everything when it restarts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not services.port_open("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def redis_server():
    services.need(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(redis_server):
    with Stack.production(redis_url=redis_server.url, tokens_per_second=100) as running:
        yield running


def saved_text(stack: Stack, message_id: int) -> tuple[str, str]:
    row = message_row(stack, message_id)
    return row["reasoning"], row["content"]


class Viewer:
    """A browser on the chat page (static/js/chat.js): applies snapshots and deltas by seq and
    asks for a resync on a gap. Each snapshot is checked against the text the database held
    before it was asked for."""

    def __init__(self, stack: Stack, ws, message_id: int) -> None:
        self.stack, self.ws, self.message_id = stack, ws, message_id
        self.seq, self.reasoning, self.content = 0, "", ""
        self.resyncing = False
        self.floor = ("", "")  # the saved text when the last resync was asked for
        self.snapshots = 0
        self.final: dict | None = None

    def check_not_shorter_than_saved(self, frame: dict) -> None:
        reasoning, content = self.floor
        assert frame["reasoning"].startswith(reasoning), (len(frame["reasoning"]), len(reasoning))
        assert frame["content"].startswith(content), (len(frame["content"]), len(content))

    async def resync(self) -> None:
        self.resyncing = True
        self.floor = saved_text(self.stack, self.message_id)
        await self.ws.send(orjson.dumps({"type": "resync", "message_id": self.message_id}).decode())

    async def apply(self, frame: dict) -> None:
        if frame.get("message_id") != self.message_id:
            return
        if frame["type"] == "snapshot":
            self.check_not_shorter_than_saved(frame)
            self.seq = frame["seq"]
            self.reasoning, self.content = frame["reasoning"], frame["content"]
            self.resyncing = False
            self.snapshots += 1
        elif frame["type"] == "delta" and not self.resyncing and frame["seq"] > self.seq:
            if frame["seq"] != self.seq + 1:
                await self.resync()
                return
            self.seq = frame["seq"]
            self.reasoning += frame["reasoning"]
            self.content += frame["content"]
        elif frame["type"] == "final":
            self.final = frame

    async def follow(self, until: float | None = None) -> None:
        """Apply frames until the final frame, or until ``until`` (monotonic)."""
        while self.final is None:
            left = 60 if until is None else until - time.monotonic()
            if left <= 0:
                return
            try:
                frame = await next_frame(self.ws, timeout=min(left, 60))
            except TimeoutError:
                if until is None:
                    raise
                return
            await self.apply(frame)


async def test_a_redis_restart_mid_answer_never_shows_less_than_the_saved_text(stack, redis_server):
    ann = User(stack, "ann").sign_up()
    chat = ann.new_chat()
    async with ann.websocket(chat) as ws:
        assert (await next_frame(ws))["type"] == "ready"
        answer = ann.send(chat, "#think:300 #answer:1500 #tps:100 through a restart")
        viewer = Viewer(stack, ws, answer)
        await viewer.follow(until=time.monotonic() + 3)  # three partial saves
        assert viewer.final is None and len(viewer.reasoning) > 200
        before_restart = saved_text(stack, answer)

        redis_server.restart()
        following = asyncio.create_task(viewer.follow())
        # Late viewers, from the first moment after the restart: each opens (no HTTP 500)
        # and starts from at least the saved text.
        late_snapshots = []
        for _ in range(8):
            floor = saved_text(stack, answer)
            async with ann.websocket(chat) as late:
                frame = await next_frame(late)
                if frame["type"] == "final":
                    break
                assert frame["type"] == "snapshot" and frame["message_id"] == answer
                assert frame["reasoning"].startswith(floor[0]) and len(floor[0]) > 0
                assert frame["content"].startswith(floor[1])
                late_snapshots.append(frame)
            await asyncio.sleep(0.4)
        assert late_snapshots, "the answer was still streaming after the restart"
        assert late_snapshots[0]["reasoning"].startswith(before_restart[0])

        await asyncio.wait_for(following, 90)

    # The chat page itself loads after the restart, and the open viewer ends with the answer.
    response = ann.http.get(f"/chat/{chat}")
    assert response.status_code == 200
    row = message_row(stack, answer)
    assert row["status"] == "complete" and viewer.final["status"] == "complete"
    log = stack.log("web")
    assert "Exception in ASGI application" not in log, log[-3000:]
    assert " 500" not in log, log[-3000:]


async def test_while_redis_is_down_a_socket_is_refused_and_opens_once_it_is_back(
    stack, redis_server
):
    """Never an HTTP 500: a handshake whose subscription fails is refused (403), and the
    browser tries again. (A subscription written to a connection that has not yet noticed
    Redis is gone succeeds, and is made again when the connection is.)"""
    bob = User(stack, "bob").sign_up()
    chat = bob.new_chat()
    redis_server.stop()
    refusals = 0
    try:
        for _ in range(10):
            try:
                async with bob.websocket(chat):
                    pass
            except InvalidStatus as refused:
                assert refused.response.status_code == 403  # before: 500
                refusals += 1
                break
    finally:
        redis_server.start()
    assert refusals == 1
    async with bob.websocket(chat) as ws:
        assert (await next_frame(ws))["type"] == "ready"
    assert bob.http.get(f"/chat/{chat}").status_code == 200
