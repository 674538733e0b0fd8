"""The one way to look up documents for a user: outsiders get 404, never 403; inside the
workspace the role policy decides (playground.workspaces.policy)."""

from __future__ import annotations

from django.http import Http404

from playground.workspaces.policy import Action, require

from .models import Document


def document_for(user, document_id, action: Action = Action.VIEW) -> Document:
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such document")
    try:
        document = (
            Document.objects.for_user(user).select_related("workspace").get(pk=int(document_id))
        )
    except (Document.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such document") from None
    require(user, action, document.workspace)
    return document
