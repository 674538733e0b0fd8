from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from playground.billing import budgets
from playground.documents import processing
from playground.documents.models import Document
from playground.llm import snippets
from playground.llm.client import ProviderKind
from playground.llm.params import RECOMMENDED_SYSTEM_PROMPTS, Params, no_room_for_answer
from playground.providers.models import Provider, default_provider, kind_of
from playground.workspaces.access import personal_workspace

from . import access, actions, context
from .forms import ParamsForm
from .generation import draft_request, requests_for
from .models import Comparison, Message, Preset, Session

SIDEBAR_LIMIT = 200
LIBRARY_CHOICES = 100


def render_message_html(message: Message) -> str:
    return render_to_string("chats/session.html#message", {"message": message})


def sidebar_context(user) -> dict:
    """The chats and the latest comparisons of the user's workspaces, for the sidebar."""
    chats = Session.objects.for_user(user).chats().only("id", "title", "updated_at")
    comparisons = Comparison.objects.filter(workspace__memberships__user=user).only(
        "id", "title", "updated_at"
    )
    return {
        "sessions": list(chats[:SIDEBAR_LIMIT]),
        "comparisons": list(comparisons[:SIDEBAR_LIMIT]),
    }


def model_choices() -> list[Provider]:
    return list(Provider.objects.enabled())


def _documents_context(session: Session) -> dict:
    attached = context.attached(session)
    processing.requeue_stalled(attached)
    library = (
        Document.objects.filter(workspace_id=session.workspace_id, status=Document.Status.READY)
        .exclude(pk__in=[d.pk for d in attached])
        .only("id", "name", "tokens")[:LIBRARY_CHOICES]
    )
    return {
        "attached_documents": attached,
        "library_documents": list(library),
        "meter": context.report(session),
    }


def _page(
    request: HttpRequest, session: Session | None, status: int = 200, **extra
) -> HttpResponse:
    provider = session.provider if session else default_provider()
    if session is not None:
        form = extra.pop("settings_form", None) or _settings_form(session)
        extra = {**_settings_context(session, form), **_documents_context(session), **extra}
        standings = budgets.standings(session.workspace_id, request.user)
        extra["budget_warnings"] = [s for s in standings if s.level != "ok"]
    context = {
        "session": session,
        "branch": session.branch() if session else [],
        **sidebar_context(request.user),
        "providers": model_choices(),
        "current_provider": provider,
        "max_upload_files": settings.PLAYGROUND["DOCUMENT_MAX_FILES_PER_UPLOAD"],
        "max_upload_mb": settings.PLAYGROUND["DOCUMENT_MAX_MB"],
        "current_model": (session.model if session else "")
        or (provider.model_ids[0] if provider and provider.model_ids else ""),
        **extra,
    }
    return render(request, "chats/session.html", context, status=status)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    latest = Session.objects.for_user(request.user).chats().first()
    if latest is not None and not request.GET.get("new"):
        return redirect("chats:session", session_id=latest.pk)
    return _page(request, None)


@login_required
@require_GET
def new_chat(request: HttpRequest) -> HttpResponse:
    return _page(request, None)


@login_required
@require_GET
def session_detail(request: HttpRequest, session_id) -> HttpResponse:
    session = access.session_for(request.user, session_id)
    if session.comparison_id:  # a column is shown, and answered, on its comparison's page
        return redirect("chats:comparison", comparison_id=session.comparison_id)
    actions.fail_stale_streams(session)
    return _page(request, session, settings_open=request.GET.get("settings") == "open")


def _selected_model(request: HttpRequest) -> tuple[Provider | None, str]:
    """Parse the "provider_id:model" value of the model picker."""
    raw = request.POST.get("model", "")
    provider_id, _, model = raw.partition(":")
    provider = None
    if provider_id.isdigit():
        provider = Provider.objects.enabled().filter(pk=int(provider_id)).first()
    return provider, model


def _refused(request: HttpRequest, session: Session | None, error: str, text: str) -> HttpResponse:
    """Re-show the page (or the composer) with the message kept and the reason next to it."""
    if request.htmx:
        response = render(
            request,
            "chats/session.html#composer",
            {
                "session": session,
                "composer_error": error,
                "draft": text,
                "providers": model_choices(),
                "current_provider": session.provider if session else default_provider(),
                "current_model": session.model if session else "",
            },
            status=422,
        )
        response["HX-Retarget"] = "#composer"
        response["HX-Reswap"] = "outerHTML"
        return response
    return _page(request, session, status=422, composer_error=error, draft=text)


@login_required
@require_POST
def start_session(request: HttpRequest) -> HttpResponse:
    """The first message of a new chat: create the session and go to it."""
    text = request.POST.get("text", "")
    provider, model = _selected_model(request)
    try:
        actions.clean_message_text(text)
        actions.choose_model(provider or default_provider(), model)
    except actions.ReplyRefused as refusal:
        return _refused(request, None, str(refusal), text)
    session = actions.create_chat(personal_workspace(request.user), request.user, provider, model)
    actions.start_reply(session, request.user, text)
    response = redirect("chats:session", session_id=session.pk)
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
    return response


@login_required
@require_POST
def send_message(request: HttpRequest, session_id) -> HttpResponse:
    session = access.chat_for(request.user, session_id)
    text = request.POST.get("text", "")
    title = session.title
    try:
        user_message, assistant = actions.start_reply(session, request.user, text)
    except actions.ReplyRefused as refusal:
        return _refused(request, session, str(refusal), text)
    if request.htmx:
        html = render_message_html(user_message) + render_message_html(assistant)
        session.refresh_from_db(fields=["title"])
        if session.title != title:  # the first message named the chat
            context = {"session": session, "s": session, "oob": True}
            html += render_to_string("chats/session.html#title", context)
            html += render_to_string("_sidebar.html#session_link", context)
        return HttpResponse(html)
    return redirect("chats:session", session_id=session.pk)


@login_required
@require_POST
def set_model(request: HttpRequest, session_id) -> HttpResponse:
    session = access.chat_for(request.user, session_id)
    provider, model = _selected_model(request)
    try:
        provider, model = actions.choose_model(provider, model)
    except actions.ReplyRefused as refusal:
        if request.htmx:
            return HttpResponse(str(refusal), status=422)
        flash.error(request, str(refusal))
        return redirect("chats:session", session_id=session.pk)
    session.provider, session.model = provider, model
    session.save(update_fields=["provider", "model", "updated_at"])
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("chats:session", session_id=session.pk)


def _settings_form(session: Session, data=None) -> ParamsForm:
    kind, model = kind_of(session.provider), session.model
    if data is not None:
        return ParamsForm(data, kind=kind, model=model)
    return ParamsForm.for_params(Params.from_dict(session.params), kind=kind, model=model)


def _settings_context(session: Session, form: ParamsForm, saved: bool = False) -> dict:
    params = getattr(form, "params", None) or Params.from_dict(session.params)
    return {
        "presets": list(Preset.objects.filter(workspace_id=session.workspace_id)),
        "session": session,
        "settings_form": form,
        "saved": saved,
        "recommended_prompts": RECOMMENDED_SYSTEM_PROMPTS,
        "no_room": no_room_for_answer(params, session.model),
    }


@login_required
@require_POST
def session_settings(request: HttpRequest, session_id) -> HttpResponse:
    """Save the chat's sampling and thinking settings; a bad value is named at its field."""
    session = access.chat_for(request.user, session_id)
    form = _settings_form(session, request.POST)
    if form.is_valid():
        session.params = form.params.as_dict()
        session.save(update_fields=["params", "updated_at"])
    if request.htmx:
        context = _settings_context(session, form, saved=form.is_valid())
        status = 200 if form.is_valid() else 422
        return render(request, "chats/session.html#settings", context, status=status)
    if form.is_valid():
        flash.success(request, "Settings saved.")
        return redirect("chats:session", session_id=session.pk)
    return _page(request, session, status=422, settings_form=form, settings_open=True)


def _provider_endpoint(request: HttpRequest, provider: Provider | None) -> tuple[ProviderKind, str]:
    """The provider's kind and the base URL its code snippets call (the simulator's HTTP face
    for the built-in simulator)."""
    kind = kind_of(provider)
    if kind == ProviderKind.SIMULATOR:
        return kind, request.build_absolute_uri("/simulator/v1")
    return kind, provider.base_url


def _code_views(requests: list[dict], base_url: str, kind: ProviderKind) -> list[dict]:
    views = []
    for number, sent in enumerate(requests, start=1):
        shown = snippets.abbreviated(sent)
        views.append(
            {
                "number": number,
                "python": snippets.python_code(shown, base_url, kind),
                "curl": snippets.curl_code(shown, base_url, kind),
                "javascript": snippets.javascript_code(shown, base_url, kind),
                "body": json.dumps(snippets.http_body(shown), indent=2, ensure_ascii=False),
            }
        )
    return views


@login_required
@require_GET
def session_code(request: HttpRequest, session_id) -> HttpResponse:
    """View code for the settings as they stand: what sending the next message would send."""
    session = access.chat_for(request.user, session_id)
    try:
        provider, model = actions.choose_model(session.provider, session.model)
        params = actions.checked_params(session.params, provider, model, "Check the chat settings")
    except actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
        return _back_to_settings(session)
    kind, base_url = _provider_endpoint(request, provider)
    context = {
        "message": None,
        "session": session,
        "requests": _code_views([draft_request(session, params, kind)], base_url, kind),
        "base_url": base_url,
    }
    return render(request, "chats/details.html", context)


@login_required
@require_GET
def message_details(request: HttpRequest, message_id) -> HttpResponse:
    """View code and the inspector: the exact requests an answer was generated with, and what
    came back (finish reason, usage as reported, request id, timings)."""
    message = access.message_for(request.user, message_id)
    if message.role != Message.Role.ASSISTANT:
        raise Http404("Only answers have request details.")
    kind, base_url = _provider_endpoint(request, message.provider)
    details = {
        "message": message,
        "session": message.session,
        "requests": _code_views(requests_for(message), base_url, kind),
        "base_url": base_url,
        "usage_raw": json.dumps(message.usage_raw, indent=2) if message.usage_raw else "",
        "thinking_budget": Params.from_dict(message.params).thinking_budget,
        "document_names": [name for _, name in context.document_names(message.documents)],
        "timings": [
            ("Queued", message.created_at),
            ("Started", message.started_at),
            ("First token", message.first_token_at),
            ("Thinking ended", message.thinking_ended_at),
            ("Finished", message.finished_at),
        ],
    }
    return render(request, "chats/details.html", details)


def _back_to_settings(session: Session) -> HttpResponse:
    return redirect(f"{reverse('chats:session', args=[session.pk])}?settings=open#settings-form")


@login_required
@require_POST
def save_preset(request: HttpRequest, session_id) -> HttpResponse:
    """The chat's current settings as a named preset of its workspace."""
    session = access.chat_for(request.user, session_id)
    try:
        preset, created = actions.save_preset(
            session,
            request.user,
            request.POST.get("name", ""),
            make_default=request.POST.get("make_default") == "on",
        )
    except actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
    else:
        flash.success(request, f"{'Saved' if created else 'Updated'} the preset “{preset.name}”.")
    return _back_to_settings(session)


def _preset_for(session: Session, preset_id) -> Preset:
    try:
        return Preset.objects.get(workspace_id=session.workspace_id, pk=int(preset_id))
    except (Preset.DoesNotExist, TypeError, ValueError):
        raise Http404("No such preset") from None


def _on_preset(request: HttpRequest, session_id, act, done: str) -> HttpResponse:
    """Act on a preset of the chat's workspace, then say what happened in the drawer."""
    session = access.chat_for(request.user, session_id)
    preset = _preset_for(session, request.POST.get("preset"))
    try:
        act(session, preset)
    except actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
    else:
        flash.success(request, f"{done} the preset “{preset.name}”.")
    return _back_to_settings(session)


@login_required
@require_POST
def apply_preset(request: HttpRequest, session_id) -> HttpResponse:
    return _on_preset(request, session_id, actions.apply_preset, "Applied")


@login_required
@require_POST
def delete_preset(request: HttpRequest, session_id) -> HttpResponse:
    return _on_preset(
        request,
        session_id,
        lambda session, preset: actions.delete_preset(request.user, preset),
        "Deleted",
    )


@login_required
@require_POST
def stop_message(request: HttpRequest, message_id) -> HttpResponse:
    message = access.message_for(request.user, message_id)
    actions.request_stop(message)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("chats:session", session_id=message.session_id)


@login_required
@require_POST
def retry_message(request: HttpRequest, message_id) -> HttpResponse:
    message = access.message_for(request.user, message_id)
    try:
        actions.retry_reply(message, request.user)
    except actions.ReplyRefused as refusal:
        if request.htmx:
            return HttpResponse(str(refusal), status=422)
        flash.error(request, str(refusal))
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return redirect("chats:session", session_id=message.session_id)


@login_required
@require_POST
def rename_session(request: HttpRequest, session_id) -> HttpResponse:
    session = access.chat_for(request.user, session_id)
    title = " ".join(request.POST.get("title", "").split())[:200]
    if not title:
        flash.error(request, "A title cannot be empty.")
    else:
        session.title = title
        session.save(update_fields=["title", "updated_at"])
    return redirect("chats:session", session_id=session.pk)


@login_required
@require_POST
def delete_session(request: HttpRequest, session_id) -> HttpResponse:
    session = access.chat_for(request.user, session_id)
    for message_id in session.messages.filter(status=Message.Status.STREAMING).values_list(
        "pk", flat=True
    ):
        actions.request_stop(Message(pk=message_id))
    session.delete()
    flash.success(request, "Chat deleted.")
    return redirect("chats:new")
