from __future__ import annotations

from playground.chats import actions
from playground.chats.models import Chat, Message
from playground.workspaces.access import personal_workspace


def new_chat(user, provider, model: str = "MiniMax-M1-40k") -> Chat:
    return Chat.objects.create(
        workspace=personal_workspace(user), created_by=user, provider=provider, model=model
    )


def reply(user, provider, text: str = "Hello") -> tuple[Chat, Message, Message]:
    chat = new_chat(user, provider)
    question, answer = actions.start_reply(chat, user, text)
    return chat, question, answer
