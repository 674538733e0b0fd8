"""Batch streamed deltas into frames: one frame every ``interval`` seconds, not one per token."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class Batch:
    seq: int
    reasoning: str
    content: str


@dataclass(slots=True)
class Coalescer:
    interval: float = 0.075
    seq: int = 0
    _reasoning: list[str] = field(default_factory=list)
    _content: list[str] = field(default_factory=list)
    _last_flush: float = field(default_factory=time.monotonic)

    def add(self, reasoning: str = "", content: str = "") -> None:
        if reasoning:
            self._reasoning.append(reasoning)
        if content:
            self._content.append(content)

    @property
    def has_pending(self) -> bool:
        return bool(self._reasoning or self._content)

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self.has_pending and now - self._last_flush >= self.interval

    def take(self) -> Batch | None:
        """The pending text as the next numbered batch, or None when nothing is pending."""
        self._last_flush = time.monotonic()
        if not self.has_pending:
            return None
        self.seq += 1
        batch = Batch(self.seq, "".join(self._reasoning), "".join(self._content))
        self._reasoning.clear()
        self._content.clear()
        return batch
