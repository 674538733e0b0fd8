"""The one way to find a workspace for a user: outsiders get 404, never 403."""

from __future__ import annotations

from django.http import Http404

from .models import Workspace


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


def current_workspace(request) -> Workspace:
    """The workspace a request works in: where a new chat, comparison or upload goes and whose
    presets and budgets apply. Resolved here only (``request.workspace``, set by
    ``CurrentWorkspaceMiddleware``). Every user has a personal workspace; choosing a team
    workspace comes with team workspaces (issue 14)."""
    return personal_workspace(request.user)
