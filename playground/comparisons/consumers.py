from __future__ import annotations

from playground.chats.consumers import ChatConsumer
from playground.chats.models import Chat

from . import access


class ComparisonConsumer(ChatConsumer):
    """The websocket of a comparison: the frames of every column's chat."""

    def authorized_chats(self) -> list[Chat]:
        comparison_id = self.scope["url_route"]["kwargs"]["comparison_id"]
        return access.comparison_for(self.scope.get("user"), comparison_id).column_chats()
