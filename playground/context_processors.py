"""What every page beside the sidebar needs: the sidebar's chats and comparisons, read only
when a template shows them."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from playground.chats.models import Chat
from playground.comparisons.models import Comparison

SIDEBAR_LIMIT = 200


class Sidebar:
    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def chats(self) -> list[Chat]:
        """The chats of the user's workspaces, newest first (not comparison columns)."""
        chats = Chat.objects.for_user(self.user).standalone().only("id", "title", "updated_at")
        return list(chats[:SIDEBAR_LIMIT])

    @cached_property
    def comparisons(self) -> list[Comparison]:
        comparisons = Comparison.objects.filter(workspace__memberships__user=self.user)
        return list(comparisons.only("id", "title", "updated_at")[:SIDEBAR_LIMIT])


def sidebar(request: HttpRequest) -> dict:
    if not request.user.is_authenticated:
        return {}
    return {"sidebar": Sidebar(request.user)}
