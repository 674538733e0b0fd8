from playground.llm.coalesce import Coalescer


def test_batches_are_numbered_and_join_deltas():
    coalescer = Coalescer(interval=10)
    assert coalescer.take() is None  # nothing pending: no frame, no number used
    coalescer.add(reasoning="a")
    coalescer.add(reasoning="b", content="")
    coalescer.add(content="c")
    batch = coalescer.take()
    assert (batch.seq, batch.reasoning, batch.content) == (1, "ab", "c")
    coalescer.add(content="d")
    assert coalescer.take().seq == 2


def test_due_only_after_interval_and_with_pending_text():
    coalescer = Coalescer(interval=0.05)
    start = coalescer._last_flush
    assert not coalescer.due(start + 1)  # nothing pending
    coalescer.add(content="x")
    assert not coalescer.due(start + 0.01)
    assert coalescer.due(start + 0.06)
