"""Writes that touch several rows: starting, retrying and stopping replies (design §7)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from playground.accounts import limits
from playground.billing import actions as billing
from playground.llm.client import ProviderKind
from playground.llm.params import Params, ParamsError, validate
from playground.llm.pricing import micros
from playground.llm.simulator import strip_directives
from playground.providers.models import Provider, default_provider, kind_of
from playground.streaming import frames, publisher, sweeper
from playground.streaming.dispatch import dispatch
from playground.workspaces.policy import REFUSALS, Action, can

from . import prompt
from .generation import charge_interrupted, final_frame, stops
from .models import Chat, Message, Preset
from .rendering import render_message_html


class ReplyRefused(Exception):
    """A request the user can fix: the message says how."""


class TooFast(ReplyRefused):
    """Over the person's rate of messages: ``retry_after`` seconds until one is accepted."""

    def __init__(self, limited: limits.Limited) -> None:
        super().__init__(str(limited))
        self.retry_after = limited.retry_after


TITLE_LENGTH = 60


def clean_message_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise ReplyRefused("Write a message first.")
    if "\x00" in text:
        # PostgreSQL cannot store it; refused rather than dropped, so that what is sent (and
        # shown in View code) is what was written.
        raise ReplyRefused("Null characters are not allowed in a message: remove them first.")
    limit = settings.PLAYGROUND["MAX_MESSAGE_CHARS"]
    if len(text) > limit:
        raise ReplyRefused(
            f"The message is {len(text):,} characters; the limit is {limit:,}. "
            "Attach long text as a document instead."
        )
    return text


def choose_model(provider: Provider | None, model: str | None) -> tuple[Provider, str]:
    if provider is None or not provider.enabled:
        raise ReplyRefused("No provider is available. Ask the instance admin to add one.")
    models = provider.model_ids or []
    if model and model in models:
        return provider, model
    if model:
        raise ReplyRefused(f"{provider.name} does not offer the model “{model}”.")
    if not models:
        raise ReplyRefused(f"{provider.name} has no models configured.")
    return provider, models[0]


def title_from(text: str, provider: Provider | None = None) -> str:
    """The first words of a message as a title (without the simulator's directives)."""
    if kind_of(provider) == ProviderKind.SIMULATOR:
        text = strip_directives(text) or text
    first_line = " ".join(text.split())
    return first_line[:TITLE_LENGTH].rstrip() + ("…" if len(first_line) > TITLE_LENGTH else "")


def checked_params(data: dict, provider: Provider, model: str, refusal: str) -> Params:
    """Stored settings, checked against the provider and model they will be sent to (the
    model may have changed since they were saved); ``refusal`` starts the message if not."""
    try:
        return validate(Params.from_dict(data), ProviderKind(provider.kind), model)
    except ParamsError as exc:
        first = next(iter(exc.errors.values()))
        raise ReplyRefused(f"{refusal}: {first}") from None


def create_chat(workspace, user, provider: Provider | None = None, model: str = "") -> Chat:
    """An empty chat on the chosen model (the default one when none is chosen), with the
    workspace's default settings."""
    provider, model = choose_model(provider or default_provider(), model)
    return Chat.objects.create(
        workspace=workspace,
        created_by=user,
        provider=provider,
        model=model,
        params=default_params(workspace),
    )


@contextmanager
def _counted_send(user) -> Iterator[None]:
    """Count an answer started against the person's rate (a comparison's columns one each);
    one refused after counting (busy, a budget, a document) is given back."""
    try:
        limits.take(user, limits.Kind.SEND)
    except limits.Limited as limited:
        raise TooFast(limited) from None
    try:
        yield
    except ReplyRefused:
        limits.give_back(user, limits.Kind.SEND)
        raise


def _new_assistant(chat: Chat, parent: Message, user) -> Message:
    provider, model = choose_model(chat.provider, chat.model)
    params = checked_params(chat.params, provider, model, "Check the chat settings")
    # Refused before anything is sent when it cannot fit (or a document is not ready). The
    # branch ends at the new question: the chat's tip moves to the answer only after this.
    branch = prompt.branch_to(parent.pk)
    next_request = prompt.report(chat, params=params, branch=branch)
    refusal = next_request.refusal()
    if refusal:
        raise ReplyRefused(refusal)
    # None: the model has no price (a free provider's is zero), which no budget can bound.
    worst_case = micros(next_request.cost.total) if next_request.cost else None
    try:
        held = billing.reserve(
            chat.workspace_id, user, worst_case, unpriced=f"{model} of {provider.name}"
        )
    except billing.BudgetExceeded as exceeded:
        raise ReplyRefused(str(exceeded)) from None
    message = Message.objects.create(
        chat=chat,
        parent=parent,
        role=Message.Role.ASSISTANT,
        author=user,
        status=Message.Status.STREAMING,
        provider=provider,
        provider_name=provider.name,
        model=model,
        params=params.as_dict(),
        documents=[p.document_id for p in next_request.documents],
    )
    billing.hold(message.pk, worst_case, held)
    return message


def locked_chat(chat_id) -> Chat:
    """The chat row, locked so two sends cannot both start an answer."""
    return Chat.objects.select_for_update(of=("self",)).select_related("provider").get(pk=chat_id)


def _refuse_if_busy(chat: Chat, user) -> None:
    """One answer at a time in a chat, and at most ``MAX_STREAMING_PER_USER`` of one person's
    at once over all their chats (call with the chat locked)."""
    most = settings.PLAYGROUND["MAX_STREAMING_PER_USER"]
    if most and connection.features.has_select_for_update:
        # Sends into two chats lock two chat rows: locking the person's row too makes them take
        # turns, so both cannot count the same last free place. (SQLite has no row locks and
        # needs none: its IMMEDIATE transactions write one at a time.)
        list(
            get_user_model()
            .objects.select_for_update()
            .filter(pk=user.pk)
            .values_list("pk", flat=True)
        )
    counts = Message.objects.filter(
        Q(chat=chat) | Q(author=user), status=Message.Status.STREAMING
    ).aggregate(here=Count("pk", filter=Q(chat=chat)), mine=Count("pk", filter=Q(author=user)))
    if counts["here"]:
        raise ReplyRefused("An answer is still being written. Stop it or wait for it to finish.")
    if most and counts["mine"] >= most:
        raise ReplyRefused(
            f"You have {counts['mine']} answers being written at once, the most allowed: "
            "wait for one to finish, or stop one."
        )


def _announce(chat: Chat, messages: list[Message]) -> None:
    """After commit: start the generation first (time to first token), then tell the other
    viewers of the chat about the new messages."""

    def announce() -> None:
        dispatch("chats.generate", messages[-1].pk)
        html = "".join(render_message_html(m) for m in messages)
        publisher.publish_sync(chat.pk, frames.messages(chat.pk, [m.pk for m in messages], html))

    # Robust: one column's failed dispatch must not keep the other columns from starting.
    transaction.on_commit(announce, robust=True)


def start_chat(
    workspace, user, text: str, provider: Provider | None = None, model: str = ""
) -> Chat:
    """A new chat with its first message and answer, or nothing at all when the message is
    refused (a budget, a document): one transaction."""
    with transaction.atomic():
        chat = create_chat(workspace, user, provider, model)
        start_reply(chat, user, text)
    return chat


def start_reply(chat: Chat, user, text: str) -> tuple[Message, Message]:
    """Save the user's message and an empty streaming answer, then start the generation."""
    text = clean_message_text(text)
    with _counted_send(user), transaction.atomic():
        chat = locked_chat(chat.pk)
        _refuse_if_busy(chat, user)
        first = chat.tip_id is None
        user_message = Message.objects.create(
            chat=chat, parent_id=chat.tip_id, role=Message.Role.USER, author=user, content=text
        )
        assistant = _new_assistant(chat, user_message, user)
        if first and chat.title == Chat._meta.get_field("title").default:
            chat.title = title_from(text, chat.provider)
        chat.tip = assistant
        chat.save(update_fields=["title", "tip", "updated_at"])
        _announce(chat, [user_message, assistant])
    return user_message, assistant


# What a copied message does not take from the original: its identity, its place, and the
# bookkeeping of a generation that is over.
_NOT_COPIED = {"id", "chat", "parent", "cancel_requested", "claimed_at", "heartbeat_at"}


def copy_messages(messages: list[Message], into: Chat) -> list[Message]:
    """Copies of a branch (root first, finished answers only) as the branch of ``into``."""
    if any(m.is_streaming for m in messages):
        raise ReplyRefused("An answer is still being written. Wait for it to finish, or stop it.")
    copies: list[Message] = []
    parent = None
    for message in messages:
        values = {
            field.name: getattr(message, field.name)
            for field in Message._meta.concrete_fields
            if field.name not in _NOT_COPIED
        }
        parent = Message.objects.create(**values, chat=into, parent=parent)
        # auto_now_add stamped the copy now; the inspector's "queued" is the original's.
        Message.objects.filter(pk=parent.pk).update(created_at=message.created_at)
        copies.append(parent)
    if copies:
        into.tip = copies[-1]
        into.save(update_fields=["tip", "updated_at"])
    return copies


def retry_reply(failed: Message, user) -> Message:
    """A new answer beside the old one (kept, never overwritten) for the same question."""
    if failed.role != Message.Role.ASSISTANT or failed.is_streaming:
        raise ReplyRefused("Only a finished answer can be retried.")
    with _counted_send(user), transaction.atomic():
        chat = locked_chat(failed.chat_id)
        _refuse_if_busy(chat, user)
        question = failed.parent
        if question is None:
            raise ReplyRefused("This answer has no question to retry.")
        assistant = _new_assistant(chat, question, user)
        chat.tip = assistant
        chat.save(update_fields=["tip", "updated_at"])
        _announce(chat, [assistant])
    return assistant


def request_stop(message: Message) -> bool:
    """Flag a streaming answer to stop; the generation keeps the text and charges once."""
    updated = Message.objects.filter(pk=message.pk, status=Message.Status.STREAMING).update(
        cancel_requested=True
    )
    if updated:
        stops.wake_local(message.pk)
    return bool(updated)


@sweeper.sweep_job
def fail_stale_streams() -> int:
    """Answers whose generation stopped saving (a crashed worker or a restarted server)."""
    cutoff = timezone.now() - timedelta(seconds=settings.PLAYGROUND["STALE_STREAM_SECONDS"])
    stale = Message.objects.filter(status=Message.Status.STREAMING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    return _interrupt(
        stale, "The generation stopped unexpectedly (the server or worker restarted)."
    )


def _interrupt(streaming, reason: str) -> int:
    """Mark answers whose generation died as failed, charge what they used, and tell their
    viewers. Each by an UPDATE that checks the same conditions: an answer that saved or ended
    meanwhile is left as it is."""
    interrupted = []
    for message_id in list(streaming.values_list("pk", flat=True)):
        # Ended and charged together: nobody reads an interrupted answer without its charge.
        with transaction.atomic():
            if streaming.filter(pk=message_id).update(
                status=Message.Status.FAILED,
                error_kind="interrupted",
                error_message=reason,
                finished_at=timezone.now(),
            ):
                charge_interrupted([message_id])
                interrupted.append(message_id)
    for message in Message.objects.filter(pk__in=interrupted).only("pk", "chat_id", "stream_seq"):
        seq = message.stream_seq + 1
        async_to_sync(publisher.end_stream)(
            message.chat_id, message.pk, final_frame(message.pk, seq)
        )
    return len(interrupted)


@sweeper.after_restart
def fail_all_in_process_streams() -> int:
    """Embedded mode start-up: no generation of an earlier process can still be running."""
    return _interrupt(
        Message.objects.filter(status=Message.Status.STREAMING),
        "The generation stopped because the server restarted.",
    )


def save_preset(chat: Chat, user, name: str, make_default: bool) -> tuple[Preset, bool]:
    """The chat's current settings under ``name`` (as ``forms.PresetForm`` cleans it) in its
    workspace, replacing a preset of that name; (preset, created)."""
    workspace = chat.workspace
    if make_default and not can(user, Action.SET_DEFAULT_PRESET, workspace):
        raise ReplyRefused(REFUSALS[Action.SET_DEFAULT_PRESET])
    with transaction.atomic():
        if make_default:
            Preset.objects.filter(workspace=workspace, is_default=True).update(is_default=False)
        preset, created = Preset.objects.update_or_create(
            workspace=workspace,
            name=name,
            defaults={"params": chat.params, "created_by": user, "is_default": make_default},
        )
    return preset, created


def apply_preset(chat: Chat, preset: Preset) -> None:
    """The preset's settings on the chat, if they fit its provider and model."""
    provider, model = choose_model(chat.provider, chat.model)
    checked_params(preset.params, provider, model, f"“{preset.name}” does not fit {model}")
    chat.params = preset.params
    chat.save(update_fields=["params", "updated_at"])


def delete_preset(user, preset: Preset) -> None:
    if preset.is_default and not can(user, Action.SET_DEFAULT_PRESET, preset.workspace):
        raise ReplyRefused(REFUSALS[Action.SET_DEFAULT_PRESET])
    preset.delete()


def default_params(workspace) -> dict:
    preset = Preset.objects.filter(workspace=workspace, is_default=True).first()
    return dict(preset.params) if preset else {}
