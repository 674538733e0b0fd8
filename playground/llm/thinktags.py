"""Split a content stream that carries M1's thinking inline as ``<think>…</think>``.

vLLM serving M1 has no reasoning parser for it, so the thinking arrives in ``delta.content``.
The tags are ordinary text and a chunk boundary may fall anywhere, even inside a tag, so the
splitter holds back any tail that could still become a tag until the next chunk decides it.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


@dataclass(slots=True)
class Split:
    reasoning: str = ""
    content: str = ""


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkTagSplitter:
    """State machine: before any text -> maybe thinking -> thinking -> answer."""

    def __init__(self) -> None:
        self._state = "start"  # start | thinking | answer
        self._pending = ""
        # Newlines right after a tag are layout, not text; they may come in the next chunk.
        self._trim_newlines = False

    @property
    def in_thinking(self) -> bool:
        return self._state == "thinking"

    def feed(self, text: str) -> Split:
        out = Split()
        buffer = self._pending + text
        self._pending = ""
        while buffer:
            if self._trim_newlines:
                buffer = buffer.lstrip("\r\n")
                if not buffer:
                    return out
                self._trim_newlines = False
            if self._state == "start":
                stripped = buffer.lstrip()
                if not stripped:
                    # Only whitespace so far: M1 may still open with <think>.
                    self._pending = buffer
                    return out
                if stripped.startswith(OPEN_TAG):
                    self._state = "thinking"
                    self._trim_newlines = True
                    buffer = stripped[len(OPEN_TAG) :]
                elif OPEN_TAG.startswith(stripped):
                    self._pending = buffer
                    return out
                else:
                    self._state = "answer"
            elif self._state == "thinking":
                end = buffer.find(CLOSE_TAG)
                if end >= 0:
                    out.reasoning += buffer[:end]
                    buffer = buffer[end + len(CLOSE_TAG) :]
                    self._state = "answer"
                    self._trim_newlines = True
                    continue
                keep = _partial_suffix(buffer, CLOSE_TAG)
                out.reasoning += buffer[: len(buffer) - keep]
                self._pending = buffer[len(buffer) - keep :]
                return out
            else:
                out.content += buffer
                return out
        return out

    def flush(self) -> Split:
        """End of stream: whatever was held back is plain text of the current part."""
        pending, self._pending = self._pending, ""
        if self._state == "thinking":
            return Split(reasoning=pending)
        return Split(content=pending)
