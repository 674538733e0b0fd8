from __future__ import annotations

from django.conf import settings
from django.db import models


class UsageRecord(models.Model):
    """What one generation used: exactly one record per assistant message."""

    message = models.OneToOneField(
        "chats.Message", on_delete=models.CASCADE, related_name="usage_record"
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="usage_records"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="usage_records"
    )
    provider_name = models.CharField(max_length=80)
    model = models.CharField(max_length=100)
    prompt_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    # True when the provider did not report usage (aborted stream) and the app estimated it.
    estimated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "created_at"])]

    def __str__(self) -> str:
        return f"{self.model}: {self.prompt_tokens} in, {self.completion_tokens} out"
