"""Moving a reply, or a document's progress, from where it is made to the browsers watching.

Knows nothing of chats: the publisher and the frames it sends, the frame buffer for snapshots,
the channel layer, the cooperative cancel registry, the in-process runner, the one dispatch
switch (Celery or in process) and the periodic sweeper. Domain apps register their jobs and
sweeps here; this package imports none of them (checked by import-linter, pyproject.toml).
"""
