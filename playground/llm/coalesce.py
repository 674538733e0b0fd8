"""Batch streamed deltas into numbered frames: one frame per tick, not one per token."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Batch:
    seq: int
    reasoning: str
    content: str


@dataclass(slots=True)
class Coalescer:
    seq: int = 0
    _reasoning: list[str] = field(default_factory=list)
    _content: list[str] = field(default_factory=list)

    def add(self, reasoning: str = "", content: str = "") -> None:
        if reasoning:
            self._reasoning.append(reasoning)
        if content:
            self._content.append(content)

    def take(self) -> Batch | None:
        """The pending text as the next numbered batch, or None when nothing is pending."""
        if not (self._reasoning or self._content):
            return None
        self.seq += 1
        batch = Batch(self.seq, "".join(self._reasoning), "".join(self._content))
        self._reasoning.clear()
        self._content.clear()
        return batch
