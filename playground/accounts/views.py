from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .actions import SignupClosed, sign_up
from .forms import SignupForm
from .models import InstanceSettings, User, signups_allowed


class LoginView(auth_views.LoginView):
    """Django's log-in page, offering sign-up only where the sign-up page would let one in."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs) -> dict:
        return {**super().get_context_data(**kwargs), "signups_allowed": signups_allowed()}


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("chats:home")
    closed = not signups_allowed()
    form = SignupForm(request.POST or None)
    if request.method == "POST" and not closed and form.is_valid():
        try:
            user = sign_up(
                form.cleaned_data["username"],
                form.cleaned_data["password1"],
                form.cleaned_data.get("email") or "",
            )
        except SignupClosed as exc:
            flash.error(request, str(exc))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("chats:home")
    first = not User.objects.exists()
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "closed": closed, "first": first},
        status=403 if closed and request.method == "POST" else 200,
    )


@user_passes_test(lambda u: u.is_superuser)
@require_POST
def toggle_signups(request: HttpRequest) -> HttpResponse:
    instance = InstanceSettings.current()
    instance.signups_open = request.POST.get("signups_open") == "on"
    instance.save()
    flash.success(request, "Sign-ups are now " + ("open." if instance.signups_open else "closed."))
    return redirect("providers:list")
