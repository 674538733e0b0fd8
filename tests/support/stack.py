"""Run the app as its users do, in subprocesses, and talk to it over HTTP and websockets.

``Stack("production")``: PostgreSQL (a fresh database), Redis (channel layer, cache, frames,
Celery broker), one Celery worker and daphne. ``Stack("embedded")``: the defaults (SQLite in a
temporary folder, in-memory channel layer, in-process generations), as ``./dev serve`` runs.
Shared by the integration tests, the browser tests and the benchmarks.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx2
import orjson

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PASSWORD = "correct horse battery 9"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(
        self,
        mode: str = "embedded",
        *,
        postgres_url: str = "",
        redis_url: str = "",
        worker_concurrency: int = 64,
        tokens_per_second: float | None = 200,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.mode = mode
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="m1pg-stack-"))
        self.processes: list[subprocess.Popen] = []
        self.named: dict[str, subprocess.Popen] = {}
        self.postgres_url = postgres_url
        self.redis_url = redis_url
        self.database = ""
        self.worker_concurrency = worker_concurrency
        self.tokens_per_second = tokens_per_second
        self.env = {
            **os.environ,
            "PLAYGROUND_VAR_DIR": str(self.tmp),
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        for name in ("DATABASE_URL", "REDIS_URL", "PLAYGROUND_TASKS", "CELERY_BROKER_URL"):
            if name not in (extra_env or {}):
                self.env.pop(name, None)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> Stack:
        if self.mode == "production":
            self._create_database()
            self._flush_redis()
            self.env.update(
                {
                    "DATABASE_URL": self._database_url(),
                    "REDIS_URL": self.redis_url,
                    "PLAYGROUND_TASKS": "celery",
                }
            )
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")
        speed = (
            []
            if self.tokens_per_second is None
            else ["--tokens-per-second", str(self.tokens_per_second)]
        )
        self.manage(
            "provider",
            "Simulator",
            "--kind",
            "simulator",
            "--models",
            "MiniMax-M1-40k,MiniMax-M1-80k",
            "--thinking-format",
            "reasoning_content",
            "--prefill",
            "--default",
            *speed,
        )
        if self.mode == "production":
            self.start_worker()
        if self.mode == "production":
            # The sweeper's schedule, as the README deploys it: one beat process.
            self._spawn(
                "beat",
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "playground",
                    "beat",
                    "--schedule",
                    str(self.tmp / "beat-schedule"),
                    "-l",
                    "warning",
                ],
            )
            # As the README deploys it: uvicorn (uvloop, httptools) serving the ASGI app.
            self._spawn(
                "web",
                [
                    PYTHON,
                    "-m",
                    "uvicorn",
                    "playground.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                    "--ws-max-size",
                    "4096",
                    "--ws-per-message-deflate",
                    "false",
                ],
            )
        else:  # what ./dev serve runs
            self._spawn(
                "web", [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"]
            )
        self._wait_ready()
        if self.mode == "production":
            self._wait_worker()
        return self

    def stop(self) -> None:
        for process in self.processes:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.database:
            self._drop_database()
            self._flush_redis()

    @classmethod
    def production(cls, *, redis_url: str = "", **options: Any) -> Stack:
        """Production mode on this machine's PostgreSQL and Redis (skips or fails without), or
        on a Redis of the test's own at ``redis_url`` (one it may restart)."""
        from . import services

        services.need_postgres()
        if not redis_url:
            services.need_redis()
        return cls(
            "production",
            postgres_url=services.postgres_url(),
            redis_url=redis_url or services.redis_url(),
            **options,
        )

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def manage(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        self.named[name] = process
        return process

    def start_worker(self) -> None:
        """The Celery worker, as the README deploys it (again, after a test killed it)."""
        self._spawn(
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "playground",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(self.worker_concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
            ],
        )

    def signal(self, name: str, signum: int) -> None:
        """Send a process of the stack a signal (SIGKILL, SIGSTOP, SIGCONT: chaos tests)."""
        self.named[name].send_signal(signum)

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with suppress(httpx2.HTTPError):
                if httpx2.get(f"{self.base}/accounts/login/", timeout=2).status_code == 200:
                    return
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(0.2)
        raise RuntimeError(
            f"the app did not start:\n{self.log('web')[-3000:]}\n{self.log('worker')[-3000:]}"
        )

    def _wait_worker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready" in self.log("worker") or self._worker_pings():
                return
            time.sleep(0.3)
        raise RuntimeError(f"the Celery worker did not start:\n{self.log('worker')[-3000:]}")

    def _worker_pings(self) -> bool:
        result = subprocess.run(
            [PYTHON, "-m", "celery", "-A", "playground", "inspect", "ping", "--timeout", "1"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return "pong" in result.stdout

    # --- services ---------------------------------------------------------------------------

    def _database_url(self) -> str:
        return re.sub(r"/[^/]*$", f"/{self.database}", self.postgres_url)

    def _admin_connection(self):
        import psycopg

        return psycopg.connect(self.postgres_url, autocommit=True)

    def _create_database(self) -> None:
        self.database = f"m1pg_{secrets.token_hex(4)}"
        with self._admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def _drop_database(self) -> None:
        with self._admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()

    def query(self, sql: str, *params: Any) -> list[tuple]:
        """Read the database the app writes (the truth the tests check frames against)."""
        if self.mode == "production":
            import psycopg

            with psycopg.connect(self._database_url()) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
        import sqlite3

        with sqlite3.connect(self.tmp / "playground.sqlite3") as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, *params: Any) -> None:
        """Change the database behind the app's back (a test's fault injection)."""
        if self.mode == "production":
            import psycopg

            with psycopg.connect(self._database_url()) as conn:
                conn.execute(sql.replace("?", "%s"), params)
            return
        import sqlite3

        with sqlite3.connect(self.tmp / "playground.sqlite3") as conn:
            conn.execute(sql, params)


class User:
    """One person using the app over HTTP (cookies, CSRF) and websockets."""

    def __init__(self, stack: Stack, username: str) -> None:
        self.stack = stack
        self.username = username
        self.http = httpx2.Client(base_url=stack.base, timeout=30, follow_redirects=False)

    def sign_up(self) -> User:
        self.http.get("/accounts/signup/")
        response = self.http.post(
            "/accounts/signup/",
            data={
                "username": self.username,
                "password1": PASSWORD,
                "password2": PASSWORD,
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302, response.text[-2000:]
        return self

    def _post(self, path: str, data: dict | None = None) -> httpx2.Response:
        if "csrftoken" not in self.http.cookies:
            self.http.get("/chat/new")
        return self.http.post(
            path, data=data or {}, headers={"X-CSRFToken": self.http.cookies["csrftoken"]}
        )

    def upload(self, chat_id: str, name: str, content: bytes) -> httpx2.Response:
        if "csrftoken" not in self.http.cookies:
            self.http.get("/chat/new")
        return self.http.post(
            "/documents/upload",
            data={"chat": chat_id},
            files={"file": (name, content)},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]},
        )

    def start_chat(self, text: str) -> str:
        response = self._post("/chat/start", {"text": text})
        assert response.status_code == 302, response.text[-2000:]
        return response.headers["location"].rsplit("/", 1)[-1]

    def new_chat(self) -> str:
        """A chat with one short finished exchange, to send more messages into."""
        chat_id = self.start_chat("#think:1 #answer:1 #tps:0 hello")
        self.wait_finished(chat_id)
        return chat_id

    def send(self, chat_id: str, text: str) -> int:
        """Send a message; the id of the streaming answer."""
        response = self._post(f"/chat/{chat_id}/send", {"text": text})
        assert response.status_code == 302, response.text[-2000:]
        return self.streaming_answer(chat_id)

    def stop(self, message_id: int) -> int:
        return self._post(f"/message/{message_id}/stop").status_code

    def streaming_answer(self, chat_id: str) -> int:
        rows = self.stack.query(
            "SELECT id FROM chats_message WHERE chat_id = ? AND role = 'assistant' "
            "ORDER BY id DESC LIMIT 1",
            chat_id.replace("-", "") if self.stack.mode == "embedded" else chat_id,
        )
        return rows[0][0]

    def wait_finished(self, chat_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        sid = chat_id.replace("-", "") if self.stack.mode == "embedded" else chat_id
        while time.monotonic() < deadline:
            rows = self.stack.query(
                "SELECT COUNT(*) FROM chats_message WHERE chat_id = ? AND status = 'streaming'",
                sid,
            )
            if rows[0][0] == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("the answer did not finish")

    def websocket(self, chat_id: str):
        from websockets.asyncio.client import connect

        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        return connect(
            f"ws://127.0.0.1:{self.stack.port}/ws/chat/{chat_id}/",
            origin=self.stack.base,
            additional_headers={"Cookie": cookie},
            max_size=2**24,
        )


async def next_frame(ws, timeout: float = 30) -> dict:
    import asyncio

    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


def message_row(stack: Stack, message_id: int) -> dict:
    columns = [
        "status",
        "reasoning",
        "content",
        "error_kind",
        "reasoning_tokens",
        "content_tokens",
        "usage_estimated",
    ]
    row = stack.query(f"SELECT {', '.join(columns)} FROM chats_message WHERE id = ?", message_id)[0]
    return dict(zip(columns, row, strict=True))
