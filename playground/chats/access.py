"""The one way to look up chats and messages for a user: outsiders get 404, never 403; inside
the workspace the role policy decides what the user may do (playground.workspaces.policy)."""

from __future__ import annotations

import uuid

from django.db.models import F
from django.http import Http404

from playground.workspaces.policy import Action, remember_role, require

from .models import Chat, Message


def _as_uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Http404("No such chat") from None


def any_chat_for(user, chat_id, action: Action = Action.VIEW) -> Chat:
    """A chat of one of the user's workspaces (a comparison's column too), if the user's role
    there allows ``action``."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such chat")
    try:
        chat = (
            # Filter (for_user), then annotate: the role comes through the user's membership.
            Chat.objects.for_user(user)
            .annotate(viewer_role=F("workspace__memberships__role"))
            .select_related("workspace", "provider")
            .get(pk=_as_uuid(chat_id))
        )
    except Chat.DoesNotExist:
        raise Http404("No such chat") from None
    remember_role(user, chat.workspace, chat.viewer_role)
    require(user, action, chat.workspace)
    return chat


def chat_for(user, chat_id, action: Action = Action.VIEW) -> Chat:
    """A chat of its own. A comparison's columns change only through the comparison (a
    follow-up to one column alone would put them out of step)."""
    chat = any_chat_for(user, chat_id, action)
    if chat.comparison_id is not None:
        raise Http404("No such chat")
    return chat


def message_for(user, message_id, action: Action = Action.VIEW) -> Message:
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such message")
    try:
        message = (
            Message.objects.select_related("chat__workspace", "provider")
            # Filter, then annotate: the role is read through the same (the user's) membership.
            .filter(chat__workspace__memberships__user=user)
            .annotate(viewer_role=F("chat__workspace__memberships__role"))
            .get(pk=int(message_id))
        )
    except (Message.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such message") from None
    remember_role(user, message.chat.workspace, message.viewer_role)
    require(user, action, message.chat.workspace)
    return message
