from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The instance admin is the superuser; the first account to sign up becomes it."""


class InstanceSettings(models.Model):
    """One row: switches the instance admin controls."""

    signups_open = models.BooleanField(default=True)

    def __str__(self) -> str:
        return "Sign-ups open" if self.signups_open else "Sign-ups closed"

    @classmethod
    def current(cls) -> InstanceSettings:
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


def signups_allowed() -> bool:
    """Whether a new account may be made: sign-ups are open, or there is no account yet (the
    first one becomes the instance admin, so a fresh instance can never lock itself out)."""
    return not User.objects.exists() or InstanceSettings.current().signups_open
