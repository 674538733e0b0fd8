"""The one module that publishes to the channel layer (design §7).

Frames go to the session's group; the consumer forwards them as they are. The database is the
source of truth: a lost frame is repaired by the browser's resync, never by retrying here.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_for_session(session_id) -> str:
    hex_id = session_id.hex if hasattr(session_id, "hex") else str(session_id).replace("-", "")
    return f"session.{hex_id}"


async def publish(session_id, frame: dict[str, Any]) -> None:
    layer = get_channel_layer()
    try:
        await layer.group_send(group_for_session(session_id), {"type": "frame", "frame": frame})
    except Exception:  # the fast path is best-effort; viewers resync from the database
        logger.warning("publishing a frame failed", exc_info=True)


def publish_sync(session_id, frame: dict[str, Any]) -> None:
    """From synchronous code; call it from ``transaction.on_commit`` so viewers never hear of
    rows that were rolled back."""
    async_to_sync(publish)(session_id, frame)
