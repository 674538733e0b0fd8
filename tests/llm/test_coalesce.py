from playground.llm.coalesce import Coalescer


def test_batches_are_numbered_and_join_deltas():
    coalescer = Coalescer()
    assert coalescer.take() is None  # nothing pending: no frame, no number used
    coalescer.add(reasoning="a")
    coalescer.add(reasoning="b", content="")
    coalescer.add(content="c")
    batch = coalescer.take()
    assert (batch.seq, batch.reasoning, batch.content) == (1, "ab", "c")
    assert coalescer.take() is None
    coalescer.add(content="d")
    assert coalescer.take().seq == 2
