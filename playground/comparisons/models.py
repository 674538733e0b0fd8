"""Comparisons: one prompt sent to 2 to 4 configurations side by side (issue 3)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from playground.chats.models import Chat


class Comparison(models.Model):
    """One prompt sent to 2 to 4 configurations side by side. Each column is a chat of its
    own (hidden from the chat list), so it streams, retries and records exactly like a chat."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="comparisons"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="comparisons"
    )
    title = models.CharField(max_length=200, default="New comparison")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("comparisons:detail", args=[self.pk])

    def column_chats(self) -> list[Chat]:
        return list(self.columns.select_related("provider").order_by("column"))
