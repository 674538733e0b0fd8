"""The one way to find a workspace for a user: outsiders get 404, never 403."""

from __future__ import annotations

from django.http import Http404

from .models import Membership, Workspace


def personal_workspace(user) -> Workspace:
    workspace = Workspace.objects.for_user(user).filter(is_personal=True).first()
    if workspace is None:
        raise Http404("No workspace")
    return workspace


def workspace_for(user, workspace_id: int) -> Workspace:
    try:
        return Workspace.objects.for_user(user).get(pk=workspace_id)
    except (Workspace.DoesNotExist, ValueError, TypeError):
        raise Http404("No such workspace") from None


def is_admin(user, workspace) -> bool:
    """An owner or admin of the workspace: sets its default preset and its budgets."""
    return workspace.memberships.filter(
        user=user, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
    ).exists()
