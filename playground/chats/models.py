from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.urls import reverse


class ChatQuerySet(models.QuerySet):
    def for_user(self, user) -> ChatQuerySet:
        """Chats in every workspace the user belongs to."""
        return self.filter(workspace__memberships__user=user)

    def standalone(self) -> ChatQuerySet:
        """Chats that are chats of their own, not columns of a comparison."""
        return self.filter(comparison__isnull=True)


class Chat(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="chats"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="chats"
    )
    title = models.CharField(max_length=200, default="New chat")
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.SET_NULL, null=True, blank=True
    )
    model = models.CharField(max_length=100, blank=True)
    # Sampling and thinking settings (playground.llm.params.Params.as_dict()); empty: defaults.
    params = models.JSONField(default=dict, blank=True)
    # Set for a column of a comparison; such chats are shown only on the comparison's page.
    comparison = models.ForeignKey(
        "comparisons.Comparison",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="columns",
    )
    column = models.PositiveSmallIntegerField(default=0)  # 1 to 4 in a comparison, left to right
    # The message the chat shows: the end of the branch that is sent, metered and exported.
    tip = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ChatQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("chats:chat", args=[self.pk])

    def branch(self) -> list[Message]:
        """The messages from the root to the tip: what the chat shows and sends."""
        return (
            Message.objects.chat_branch(self.pk).select_related("usage_record", "provider").path()
        )


class MessageQuerySet(models.QuerySet):
    def branch(self, tip_id: int | None) -> MessageQuerySet:
        """The messages from the root to ``tip_id`` (``.path()`` lists them root first)."""
        if tip_id is None:
            return self.none()
        return self._ending_at("%s", tip_id)

    def chat_branch(self, chat_id) -> MessageQuerySet:
        """The messages from the root to the chat's tip as it is in the database now (not as a
        loaded chat object remembers it); ``.path()`` lists them root first."""
        tip = f"(SELECT tip_id FROM {Chat._meta.db_table} WHERE id = %s)"  # noqa: S608
        return self._ending_at(tip, Chat._meta.pk.get_db_prep_value(chat_id, connection))

    def _ending_at(self, start_sql: str, param) -> MessageQuerySet:
        """One query: a recursive CTE over parent links (PostgreSQL and SQLite), not a walk
        over every message of the chat."""
        table = self.model._meta.db_table
        path = RawSQL(  # noqa: S611
            # Table names come from the models; the start is a parameter.
            f"WITH RECURSIVE branch(id, parent_id) AS ("  # noqa: S608
            f"SELECT id, parent_id FROM {table} WHERE id = {start_sql} "
            f"UNION ALL SELECT m.id, m.parent_id FROM {table} AS m "
            "JOIN branch ON m.id = branch.parent_id) SELECT id FROM branch",
            (param,),
        )
        return self.filter(pk__in=path)

    def path(self) -> list[Message]:
        """The messages of a branch, root first by their parent links (not by time: the
        clocks of two web replicas may disagree by more than the gap between two messages)."""
        by_parent = {message.parent_id: message for message in self}
        ordered: list[Message] = []
        node = by_parent.get(None)
        while node is not None:
            ordered.append(node)
            node = by_parent.get(node.pk)
        return ordered


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        COMPLETE = "complete", "Complete"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    content = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    content_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMPLETE)
    error_kind = models.CharField(max_length=30, blank=True)
    error_message = models.CharField(max_length=600, blank=True)

    # What answered, and how.
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.SET_NULL, null=True, blank=True
    )
    provider_name = models.CharField(max_length=80, blank=True)
    model = models.CharField(max_length=100, blank=True)
    # An answer's settings as they were when it was requested, and the request they made.
    params = models.JSONField(default=dict, blank=True)
    # Set when the app stopped the thinking at this budget (budget forcing, design §4).
    thinking_budget_hit = models.PositiveIntegerField(null=True, blank=True)
    # The documents in the answer's request, in order (ids): View code rebuilds it with them.
    documents = models.JSONField(default=list, blank=True)
    # The provider's usage object as it came (for the inspector); null when none came.
    usage_raw = models.JSONField(null=True, blank=True)
    retries = models.PositiveSmallIntegerField(default=0)  # by the SDK, before the answer came
    finish_reason = models.CharField(max_length=30, blank=True)
    request_id = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    reasoning_tokens = models.PositiveIntegerField(null=True, blank=True)
    content_tokens = models.PositiveIntegerField(null=True, blank=True)
    usage_estimated = models.BooleanField(default=False)

    # Streaming bookkeeping: the last frame number saved with the text, the cancel flag, the
    # claim that keeps a redelivered task from running twice, and a heartbeat.
    stream_seq = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_token_at = models.DateTimeField(null=True, blank=True)
    thinking_ended_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["chat", "status"])]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk}"

    @property
    def dom_id(self) -> str:
        return f"message-{self.pk}"

    @property
    def is_streaming(self) -> bool:
        return self.status == self.Status.STREAMING

    @property
    def time_to_first_token_ms(self) -> int | None:
        if self.first_token_at and self.started_at:
            return int((self.first_token_at - self.started_at).total_seconds() * 1000)
        return None

    @property
    def thinking_seconds(self) -> float | None:
        if not self.first_token_at:
            return None
        end = self.thinking_ended_at or self.finished_at
        return (end - self.first_token_at).total_seconds() if end else None

    @property
    def tokens_per_second(self) -> float | None:
        tokens = (self.reasoning_tokens or 0) + (self.content_tokens or 0)
        if not tokens or not self.first_token_at or not self.finished_at:
            return None
        seconds = (self.finished_at - self.first_token_at).total_seconds()
        return round(tokens / seconds, 1) if seconds > 0 else None

    @property
    def stopped_at_output_limit(self) -> int | None:
        """The max output tokens that cut this answer short (the provider said "length"), or
        None when it ended of itself: an answer cut there looks complete, even when empty."""
        if self.status != self.Status.COMPLETE or self.finish_reason != "length":
            return None
        from playground.llm.params import Params, output_limit

        return Params.from_dict(self.params).max_tokens or output_limit(self.model)


class Preset(models.Model):
    """Named chat settings shared by a workspace; one of them may be the workspace's default,
    which new chats start with."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="presets"
    )
    name = models.CharField(max_length=80)
    params = models.JSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="preset_name_per_workspace"),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(is_default=True),
                name="one_default_preset_per_workspace",
            ),
        ]

    def __str__(self) -> str:
        return self.name
