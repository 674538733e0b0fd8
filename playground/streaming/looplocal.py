"""Objects that belong to one event loop (connections, tasks), made on first use per loop."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable


class LoopLocal[T]:
    """``LoopLocal(factory).get()`` returns this loop's object; a closed loop's is forgotten."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._objects: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        found = self._objects.get(loop)
        if found is None:
            found = self._objects[loop] = self._factory()
        return found
