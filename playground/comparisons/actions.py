"""Compare: one prompt to 2 to 4 configurations side by side (issue 3).

Each column is a chat of its own with the column's provider, model and settings, so its
answers stream, retry and record their requests exactly like a chat's. Continuing a column as a
chat copies its messages into a new chat; the comparison stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from playground.chats import actions
from playground.chats.models import Chat, Message
from playground.llm.params import Params
from playground.providers.models import Provider

from .models import Comparison

MIN_COLUMNS = 2
MAX_COLUMNS = 4


@dataclass(frozen=True, slots=True)
class ColumnConfig:
    provider: Provider
    model: str
    params: Params


def start_comparison(user, workspace, text: str, columns: list[ColumnConfig]) -> Comparison:
    """Create the comparison and its column chats, and start every column's answer."""
    text = actions.clean_message_text(text)
    if not MIN_COLUMNS <= len(columns) <= MAX_COLUMNS:
        raise actions.ReplyRefused(f"Compare {MIN_COLUMNS} to {MAX_COLUMNS} configurations.")
    with transaction.atomic():
        comparison = Comparison.objects.create(
            workspace=workspace,
            created_by=user,
            title=actions.title_from(text, columns[0].provider),
        )
        for number, column in enumerate(columns, start=1):
            chat = Chat.objects.create(
                workspace=workspace,
                created_by=user,
                provider=column.provider,
                model=column.model,
                params=column.params.as_dict(),
                comparison=comparison,
                column=number,
            )
            actions.start_reply(chat, user, text)
    return comparison


def send_to_all(comparison: Comparison, user, text: str) -> list[tuple[Chat, list[Message]]]:
    """A follow-up to every column; if one column cannot take it, none does."""
    text = actions.clean_message_text(text)
    started = []
    with transaction.atomic():
        for chat in comparison.column_chats():
            started.append((chat, list(actions.start_reply(chat, user, text))))
        comparison.save(update_fields=["updated_at"])
    return started


def continue_as_chat(column: Chat, user) -> Chat:
    """A new chat with the column's settings and a copy of its conversation, to go on with."""
    if column.comparison_id is None:
        raise actions.ReplyRefused("Only a column of a comparison can be continued as a chat.")
    with transaction.atomic():
        column = actions.locked_chat(column.pk)  # no follow-up may start while copying
        if column.messages.filter(status=Message.Status.STREAMING).exists():
            raise actions.ReplyRefused("Wait for the column's answer to finish, or stop it.")
        chat = Chat.objects.create(
            workspace=column.workspace,
            created_by=user,
            title=f"{column.comparison.title} · {column.model}"[:200],
            provider=column.provider,
            model=column.model,
            params=column.params,
        )
        actions.copy_messages(column.branch(), chat)
    return chat


def settings_summary(params: Params, model_limit: int) -> list[str]:
    """The few settings that tell columns apart, in words short enough for a column head."""
    budget = f"{params.thinking_budget:,}" if params.thinking_budget else "model default"
    parts = [
        f"budget {budget}",
        f"temperature {params.temperature:g}",
        f"top_p {params.top_p:g}",
        f"max {params.max_tokens or model_limit:,}",
    ]
    if params.seed is not None:
        parts.append(f"seed {params.seed}")
    if params.system_prompt:
        parts.append("system prompt")
    if params.presence_penalty or params.frequency_penalty:
        parts.append(f"penalties {params.presence_penalty:g}/{params.frequency_penalty:g}")
    if params.stop:
        parts.append(f"{len(params.stop)} stop")
    return parts
