"""The one way to look up comparisons for a user: outsiders get 404, never 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404

from playground.workspaces.policy import Action, remember_role, require

from .models import Comparison


def comparison_for(user, comparison_id, action: Action = Action.VIEW) -> Comparison:
    """A comparison of one of the user's workspaces, if the user's role allows ``action``."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such comparison")
    try:
        comparison = (
            Comparison.objects.select_related("workspace")
            # Filter, then annotate: the role is read through the same (the user's) membership.
            .filter(workspace__memberships__user=user)
            .annotate(viewer_role=F("workspace__memberships__role"))
            .get(pk=comparison_id)
        )
    except (Comparison.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such comparison") from None
    remember_role(user, comparison.workspace, comparison.viewer_role)
    require(user, action, comparison.workspace)
    return comparison
