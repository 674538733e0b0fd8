"""The one way to look up chats and messages for a user: outsiders get 404, never 403."""

from __future__ import annotations

import uuid

from django.http import Http404

from .models import Comparison, Message, Chat


def _as_uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Http404("No such chat") from None


def any_chat_for(user, chat_id) -> Chat:
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such chat")
    try:
        return (
            Chat.objects.for_user(user)
            .select_related("workspace", "provider")
            .get(pk=_as_uuid(chat_id))
        )
    except Chat.DoesNotExist:
        raise Http404("No such chat") from None


def chat_for(user, chat_id) -> Chat:
    """A chat that is a chat of its own. A comparison's columns change only through the
    comparison (a follow-up to one column alone would put them out of step)."""
    chat = any_chat_for(user, chat_id)
    if chat.comparison_id is not None:
        raise Http404("No such chat")
    return chat


def message_for(user, message_id) -> Message:
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such message")
    try:
        return Message.objects.select_related("chat", "provider").get(
            pk=int(message_id), chat__workspace__memberships__user=user
        )
    except (Message.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such message") from None


def comparison_for(user, comparison_id) -> Comparison:
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such comparison")
    try:
        return Comparison.objects.select_related("workspace").get(
            pk=_as_uuid(comparison_id), workspace__memberships__user=user
        )
    except Comparison.DoesNotExist:
        raise Http404("No such comparison") from None
