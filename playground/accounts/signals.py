"""An ended session takes its open websockets with it (the sockets stream private chats).

Logging out closes the sockets of that session; a new password hash (a change, a reset, or
Django upgrading the hash at log-in: each makes every other session's auth hash stale) closes
every socket of the person, and a session whose hash is stale cannot open one again (channels'
AuthMiddlewareStack checks it). A hash written without saving the model (a queryset update)
is not seen here.
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from playground.streaming import publisher
from playground.streaming.sockets import session_digest

from .models import User


@receiver(user_logged_out, dispatch_uid="accounts.close_sockets_on_logout")
def close_sockets_on_logout(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    key = getattr(getattr(request, "session", None), "session_key", None)
    # Without a request (a logout over a socket) the session is unknown: close them all.
    session = session_digest(key) if key else None
    transaction.on_commit(partial(publisher.end_sessions, user.pk, session))


@receiver(pre_save, sender=User, dispatch_uid="accounts.note_password_change")
def note_password_change(sender, instance: User, update_fields, **kwargs) -> None:
    instance._password_replaced = False
    if instance._state.adding or (update_fields is not None and "password" not in update_fields):
        return
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_replaced = stored is not None and stored != instance.password


@receiver(post_save, sender=User, dispatch_uid="accounts.close_sockets_on_password_change")
def close_sockets_on_password_change(sender, instance: User, **kwargs) -> None:
    if getattr(instance, "_password_replaced", False):
        instance._password_replaced = False
        transaction.on_commit(partial(publisher.end_sessions, instance.pk))
