"""Who may do what in a workspace: one matrix of roles and actions, one check (design §6).

An outsider (no membership) never learns a workspace exists: ``require`` raises 404. A member
whose role lacks the right gets 403 with a plain message saying who can. The README's role
matrix is this table.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Workspace

Role = Membership.Role


class Action(StrEnum):
    VIEW = "view"  # read the workspace's chats, comparisons and documents
    CHAT = "chat"  # start and answer chats, compare, upload and attach documents
    SET_DEFAULT_PRESET = "set_default_preset"
    MANAGE_BUDGETS = "manage_budgets"
    VIEW_WORKSPACE_USAGE = "view_workspace_usage"


_ALL = frozenset(Action)
ALLOWED: dict[str, frozenset[Action]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL,
    Role.MEMBER: frozenset({Action.VIEW, Action.CHAT}),
    Role.VIEWER: frozenset({Action.VIEW}),
}

# What a member without the right is told: who can.
REFUSALS: dict[Action, str] = {
    Action.VIEW: "You are not a member of this workspace.",
    Action.CHAT: "Viewers can read this workspace's chats but not write in them.",
    Action.SET_DEFAULT_PRESET: (
        "Only the workspace's owners and admins set or delete its default preset."
    ),
    Action.MANAGE_BUDGETS: "Only the workspace's owners and admins manage its budgets.",
    Action.VIEW_WORKSPACE_USAGE: "Only the workspace's owners and admins see its usage.",
}


def _roles(user) -> dict[int, str | None]:
    """The roles looked up for this user object (one request's): one query per workspace."""
    cache = getattr(user, "_workspace_roles", None)
    if cache is None:
        cache = user._workspace_roles = {}
    return cache


def remember_role(user, workspace: Workspace, role: str | None) -> None:
    """A role read with the object that led to it (an access helper's single query)."""
    _roles(user)[workspace.pk] = role


def role_of(user, workspace: Workspace) -> str | None:
    """The user's role in the workspace, or None for an outsider."""
    if not getattr(user, "is_authenticated", False):
        return None
    cache = _roles(user)
    if workspace.pk not in cache:
        cache[workspace.pk] = (
            Membership.objects.filter(user=user, workspace=workspace)
            .values_list("role", flat=True)
            .first()
        )
    return cache[workspace.pk]


def can(user, action: Action, workspace: Workspace) -> bool:
    role = role_of(user, workspace)
    return role is not None and action in ALLOWED.get(role, frozenset())


def require(user, action: Action, workspace: Workspace) -> None:
    """Http404 for an outsider; PermissionDenied (403, with the plain reason) for a member
    whose role does not allow ``action``."""
    role = role_of(user, workspace)
    if role is None:
        raise Http404("No such workspace")
    if action not in ALLOWED.get(role, frozenset()):
        raise PermissionDenied(REFUSALS[action])
