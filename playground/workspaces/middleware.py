from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .access import current_workspace


class CurrentWorkspaceMiddleware:
    """``request.workspace``: the current workspace, looked up on first use only."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            request.workspace = SimpleLazyObject(lambda: current_workspace(request))
        return self.get_response(request)
