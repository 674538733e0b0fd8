from __future__ import annotations

from django.db import transaction

from playground.workspaces.models import Membership, Workspace

from .models import InstanceSettings, User


class SignupClosed(Exception):
    pass


def sign_up(username: str, password: str, email: str = "") -> User:
    """Create an account and its personal workspace; the first account is the instance admin."""
    with transaction.atomic():
        # Lock the settings row so two first sign-ups cannot both become admin.
        instance = InstanceSettings.objects.select_for_update().get_or_create(pk=1)[0]
        first = not User.objects.exists()
        if not first and not instance.signups_open:
            raise SignupClosed(
                "Sign-ups are closed on this instance. Ask its admin for an account."
            )
        user = User.objects.create_user(username=username, email=email, password=password)
        if first:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        workspace = Workspace.objects.create(name=f"{username}'s workspace", is_personal=True)
        Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.OWNER)
    return user
