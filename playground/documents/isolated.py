"""Run ``extract`` on a possibly hostile file in a child process with hard limits.

The parent starts ``python -m playground.documents.isolated JOB`` with ``subprocess.Popen``
(not multiprocessing: callers include Celery thread-pool workers and daemonic processes, where
forking a threaded interpreter is unsafe). The child caps its own address space, CPU time, file
writes and core dumps with ``setrlimit`` before it reads a byte, so a bomb or a crash in a C
library ends the child, never the caller; the parent enforces the wall clock and kills it.

Protocol: the child's original stdout carries one line per event, ``progress F`` and finally
``result {json}`` or ``error {json}``. The text, up to tens of megabytes, goes to a temporary
file as UTF-8 rather than through JSON, so large results cost one write and one read. Anything a
library prints goes to the child's stderr, which is a capped file kept for the log.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .extract import (
    DEFAULT_LIMITS,
    Extracted,
    ExtractionError,
    Limits,
    Skipped,
    extract,
    oom_message,
)

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Starting the interpreter and importing the package is not the file's fault, so the wall
# clock the parent enforces is the extraction limit plus this.
STARTUP_SECONDS = 3.0
STDERR_BYTES = 1 * 1024 * 1024  # room for the child's stderr log beside the text (RLIMIT_FSIZE)
_TEXT_NAME = "text.txt"
_STDERR_NAME = "stderr.log"


def extract_isolated(
    path: Path,
    filename: str,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[float], None] | None = None,
) -> Extracted:
    """Like ``extract``, in a child process that cannot exhaust this one's memory or time."""
    workdir = Path(tempfile.mkdtemp(prefix="extract-"))
    try:
        return _run_child(Path(os.path.abspath(path)), filename, limits, progress, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_child(
    path: Path,
    filename: str,
    limits: Limits,
    progress: Callable[[float], None] | None,
    workdir: Path,
) -> Extracted:
    job = json.dumps(
        {
            "path": str(path),
            "filename": filename,
            "limits": dataclasses.asdict(limits),
            "workdir": str(workdir),
        }
    )
    started = time.monotonic()
    deadline = started + limits.max_seconds + STARTUP_SECONDS
    with (workdir / _STDERR_NAME).open("wb") as stderr:
        child = subprocess.Popen(  # noqa: S603 - fixed argv, no shell; the job is JSON
            [sys.executable, "-m", "playground.documents.isolated", job],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=workdir,
            env=_child_env(),
        )
    with child:  # closes the pipe and reaps the child on the way out
        try:
            final = _read_events(child, deadline, progress)
        finally:
            if child.poll() is None:
                child.kill()
    elapsed = time.monotonic() - started
    if final is None or final[0] == "timeout":
        raise _failure(child.returncode, workdir, limits, timed_out=final is not None)
    event, payload = final
    if event == "error":
        raise ExtractionError(payload["kind"], payload["message"])
    text = (workdir / _TEXT_NAME).read_bytes().decode("utf-8", "surrogatepass")
    logger.info(
        "extracted %s (%s) in %.2f s, child peak memory %.0f MB",
        payload["kind"],
        _plural(len(text), "char"),
        elapsed,
        payload["max_rss_bytes"] / 1024 / 1024,
        extra={"seconds": elapsed, "peak_rss_bytes": payload["max_rss_bytes"]},
    )
    return Extracted(
        kind=payload["kind"],
        text=text,
        pages=payload["pages"],
        files=payload["files"],
        skipped=[Skipped(member, reason) for member, reason in payload["skipped"]],
        language=payload["language"],
    )


# What the child may see of the environment: never the secrets (SECRET_KEY, DATABASE_URL,
# provider keys) a parser exploited by a hostile file could read.
_CHILD_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "VIRTUAL_ENV", "PYTHONHOME")


def _child_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in _CHILD_ENV_KEYS if key in os.environ}
    # The child imports this package by name; make that work wherever the caller runs from.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _read_events(
    child: subprocess.Popen[bytes],
    deadline: float,
    progress: Callable[[float], None] | None,
) -> tuple[str, dict] | None:
    """Progress lines as they come, until EOF (the final event, or None if the child died
    without one) or the deadline ("timeout")."""
    assert child.stdout is not None
    fd = child.stdout.fileno()
    buffer = b""
    final = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", {}
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return final
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                event, _, body = line.decode("utf-8", "replace").partition(" ")
                if event == "progress" and progress is not None:
                    progress(float(body))
                elif event in ("result", "error"):
                    final = event, json.loads(body)


def _failure(returncode: int, workdir: Path, limits: Limits, timed_out: bool) -> ExtractionError:
    """What a child that ended without a result means for the person who uploaded the file."""
    if timed_out or returncode == -signal.SIGXCPU:
        return ExtractionError(
            "timeout",
            f"Reading the file took longer than {limits.max_seconds:g} s, the limit, and was "
            "stopped.",
        )
    log = _tail(workdir / _STDERR_NAME)
    # A Python MemoryError that escaped even the child's handler, or a kill by the kernel's
    # OOM killer, or a C++ allocation failure inside a reader library.
    if "MemoryError" in log or "bad_alloc" in log or returncode == -signal.SIGKILL:
        return ExtractionError("out_of_memory", oom_message(limits))
    logger.warning("extraction child ended with %s: %s", returncode, log[-2000:])
    return ExtractionError(
        "corrupt",
        "The file could not be read: the reader stopped unexpectedly. It may be damaged or "
        "made to crash readers.",
    )


def _tail(path: Path, size: int = 8192) -> str:
    try:
        with path.open("rb") as file:
            file.seek(max(0, path.stat().st_size - size))
            return file.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# --- the child -------------------------------------------------------------------------------


def _limit_self(limits: Limits) -> None:
    """Hard limits on this process, set before the file is opened."""
    cpu = math.ceil(limits.max_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory_bytes, limits.max_memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The text file is the only large write: UTF-8 takes at most 4 bytes a character.
    most = limits.max_text_chars * 4 + STDERR_BYTES
    resource.setrlimit(resource.RLIMIT_FSIZE, (most, most))


def _child(job: dict, events: IO[str]) -> None:
    limits = Limits(**job["limits"])
    _limit_self(limits)

    def send(event: str, body: object) -> None:
        events.write(f"{event} {body}\n")
        events.flush()

    try:
        extracted = extract(
            Path(job["path"]),
            job["filename"],
            limits,
            progress=lambda fraction: send("progress", f"{fraction:.4f}"),
        )
    except ExtractionError as error:
        send("error", json.dumps({"kind": error.kind, "message": error.message}))
        return
    except MemoryError:
        send("error", json.dumps({"kind": "out_of_memory", "message": oom_message(limits)}))
        return
    text = extracted.text.encode("utf-8", "surrogatepass")
    (Path(job["workdir"]) / _TEXT_NAME).write_bytes(text)
    del text
    meta = {
        "kind": extracted.kind,
        "pages": extracted.pages,
        "files": extracted.files,
        "skipped": [[item.path, item.reason] for item in extracted.skipped],
        "language": extracted.language,
        "max_rss_bytes": _peak_rss_bytes(),
    }
    send("result", json.dumps(meta))


def _peak_rss_bytes() -> int:
    """This process's own peak RSS. ru_maxrss would carry over the parent's peak, which Linux
    keeps across fork and exec; VmHWM belongs to the address space exec created."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def main(argv: list[str]) -> int:
    import faulthandler

    # Keep the protocol channel for ourselves and send fd 1 to the stderr log, so that
    # whatever a C library prints cannot be mistaken for an event.
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    faulthandler.enable()  # a crash in a C library leaves its stack in the log
    _child(json.loads(argv[1]), events)
    events.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
