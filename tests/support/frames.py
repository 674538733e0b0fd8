"""What the browser does with frames, for tests: apply snapshots and deltas by sequence."""

from __future__ import annotations


def assemble(frames: list[dict], message_id: int) -> tuple[int, str, str]:
    """(seq, reasoning, content) after applying ``frames``; a delta at or below what is
    already applied is skipped (as after a snapshot), and a gap fails the test."""
    seq, reasoning, content = 0, "", ""
    for frame in frames:
        if frame.get("message_id") != message_id:
            continue
        if frame["type"] == "snapshot":
            seq, reasoning, content = frame["seq"], frame["reasoning"], frame["content"]
        elif frame["type"] == "delta" and frame["seq"] > seq:
            assert frame["seq"] == seq + 1, f"gap: {seq} -> {frame['seq']}"
            seq = frame["seq"]
            reasoning += frame["reasoning"]
            content += frame["content"]
    return seq, reasoning, content
