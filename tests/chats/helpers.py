from __future__ import annotations

from playground.chats import actions
from playground.chats.models import Message, Session
from playground.workspaces.access import personal_workspace


def new_session(user, provider, model: str = "MiniMax-M1-40k") -> Session:
    return Session.objects.create(
        workspace=personal_workspace(user), created_by=user, provider=provider, model=model
    )


def reply(user, provider, text: str = "Hello") -> tuple[Session, Message, Message]:
    session = new_session(user, provider)
    question, answer = actions.start_reply(session, user, text)
    return session, question, answer
