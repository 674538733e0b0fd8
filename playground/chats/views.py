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
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh, reswap, retarget

from playground.billing import budgets
from playground.documents.models import Document
from playground.llm import snippets
from playground.llm.client import ProviderKind
from playground.llm.errors import scrub
from playground.llm.params import RECOMMENDED_SYSTEM_PROMPTS, Params, no_room_for_answer
from playground.providers.models import Provider, default_provider, kind_of
from playground.workspaces.policy import Action, require

from . import access, actions, prompt
from .forms import ParamsForm, PresetForm, RenameForm, first_error
from .models import Chat, Message, Preset
from .rendering import render_message_html


def model_choices() -> list[Provider]:
    return list(Provider.objects.enabled())


def _documents_context(chat: Chat, branch: list[Message]) -> dict:
    attached = prompt.attached(chat)
    return {
        "attached_documents": attached,
        "library_documents": Document.objects.attachable_to(chat),
        "meter": prompt.report(chat, branch=branch, documents=attached),
    }


def _page(request: HttpRequest, chat: Chat | None, status: int = 200, **extra) -> HttpResponse:
    provider = chat.provider if chat else default_provider()
    branch = chat.branch() if chat else []
    if chat is not None:
        form = extra.pop("settings_form", None) or _settings_form(chat)
        extra = {**_settings_context(chat, form), **_documents_context(chat, branch), **extra}
        standings = budgets.standings(chat.workspace_id, request.user)
        extra["budget_warnings"] = [s for s in standings if s.level != "ok"]
    context = {
        "chat": chat,
        "branch": branch,
        "providers": model_choices(),
        "current_provider": provider,
        "max_upload_files": settings.PLAYGROUND["DOCUMENT_MAX_FILES_PER_UPLOAD"],
        "max_upload_mb": settings.PLAYGROUND["DOCUMENT_MAX_MB"],
        "current_model": (chat.model if chat else "")
        or (provider.model_ids[0] if provider and provider.model_ids else ""),
        **extra,
    }
    return render(request, "chats/chat.html", context, status=status)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    latest = Chat.objects.for_user(request.user).standalone().first()
    if latest is not None and not request.GET.get("new"):
        return redirect("chats:chat", chat_id=latest.pk)
    return _page(request, None)


@login_required
@require_GET
def new_chat(request: HttpRequest) -> HttpResponse:
    return _page(request, None)


@login_required
@require_GET
def chat_detail(request: HttpRequest, chat_id) -> HttpResponse:
    chat = access.any_chat_for(request.user, chat_id)
    if chat.comparison_id:  # a column is shown, and answered, on its comparison's page
        return redirect("comparisons:detail", comparison_id=chat.comparison_id)
    return _page(request, chat, settings_open=request.GET.get("settings") == "open")


def _selected_model(request: HttpRequest) -> tuple[Provider | None, str]:
    """Parse the "provider_id:model" value of the model picker."""
    raw = request.POST.get("model", "")
    provider_id, _, model = raw.partition(":")
    provider = None
    if provider_id.isdigit():
        provider = Provider.objects.enabled().filter(pk=int(provider_id)).first()
    return provider, model


def _refusal(response: HttpResponse, refusal: actions.ReplyRefused) -> HttpResponse:
    """A refused request is a 422; one whose fix is to wait, a 429 that says how long."""
    if isinstance(refusal, actions.TooFast):
        response.status_code = 429
        response["Retry-After"] = str(refusal.retry_after)
    return response


def _refused(
    request: HttpRequest, chat: Chat | None, refusal: actions.ReplyRefused, text: str
) -> HttpResponse:
    """Re-show the page (or the composer) with the message kept and the reason next to it."""
    error = str(refusal)
    if request.htmx:
        response = render(
            request,
            "chats/chat.html#composer",
            {
                "chat": chat,
                "composer_error": error,
                "draft": text,
                "providers": model_choices(),
                "current_provider": chat.provider if chat else default_provider(),
                "current_model": chat.model if chat else "",
            },
            status=422,
        )
        response = reswap(retarget(response, "#composer"), "outerHTML")
    else:
        response = _page(request, chat, status=422, composer_error=error, draft=text)
    return _refusal(response, refusal)


@login_required
@require_POST
def start_chat(request: HttpRequest) -> HttpResponse:
    """The first message of a new chat: create the chat and go to it."""
    text = request.POST.get("text", "")
    provider, model = _selected_model(request)
    require(request.user, Action.CHAT, request.workspace)
    try:
        chat = actions.start_chat(request.workspace, request.user, text, provider, model)
    except actions.ReplyRefused as refusal:  # nothing was created
        return _refused(request, None, refusal, text)
    if request.htmx:
        return HttpResponseClientRedirect(chat.get_absolute_url())
    return redirect(chat)


@login_required
@require_POST
def send_message(request: HttpRequest, chat_id) -> HttpResponse:
    chat = access.chat_for(request.user, chat_id, Action.CHAT)
    text = request.POST.get("text", "")
    title = chat.title
    try:
        user_message, assistant = actions.start_reply(chat, request.user, text)
    except actions.ReplyRefused as refusal:
        return _refused(request, chat, refusal, text)
    if request.htmx:
        html = render_message_html(user_message) + render_message_html(assistant)
        chat.refresh_from_db(fields=["title"])
        if chat.title != title:  # the first message named the chat
            context = {"chat": chat, "s": chat, "oob": True}
            html += render_to_string("chats/chat.html#title", context)
            html += render_to_string("_sidebar.html#chat_link", context)
        return HttpResponse(html)
    return redirect("chats:chat", chat_id=chat.pk)


@login_required
@require_POST
def set_model(request: HttpRequest, chat_id) -> HttpResponse:
    chat = access.chat_for(request.user, chat_id, Action.CHAT)
    provider, model = _selected_model(request)
    try:
        provider, model = actions.choose_model(provider, model)
    except actions.ReplyRefused as refusal:
        if request.htmx:
            return HttpResponse(str(refusal), status=422, content_type="text/plain")
        flash.error(request, str(refusal))
        return redirect(chat)
    chat.provider, chat.model = provider, model
    chat.save(update_fields=["provider", "model", "updated_at"])
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("chats:chat", chat_id=chat.pk)


def _settings_form(chat: Chat, data=None) -> ParamsForm:
    kind, model = kind_of(chat.provider), chat.model
    if data is not None:
        return ParamsForm(data, kind=kind, model=model)
    return ParamsForm.for_params(Params.from_dict(chat.params), kind=kind, model=model)


def _settings_context(chat: Chat, form: ParamsForm, saved: bool = False) -> dict:
    params = getattr(form, "params", None) or Params.from_dict(chat.params)
    return {
        "presets": list(Preset.objects.filter(workspace_id=chat.workspace_id)),
        "chat": chat,
        "settings_form": form,
        "saved": saved,
        "recommended_prompts": RECOMMENDED_SYSTEM_PROMPTS,
        "no_room": no_room_for_answer(params, chat.model),
    }


@login_required
@require_POST
def chat_settings(request: HttpRequest, chat_id) -> HttpResponse:
    """Save the chat's sampling and thinking settings; a bad value is named at its field."""
    chat = access.chat_for(request.user, chat_id, Action.CHAT)
    form = _settings_form(chat, request.POST)
    if form.is_valid():
        chat.params = form.params.as_dict()
        chat.save(update_fields=["params", "updated_at"])
    if request.htmx:
        context = _settings_context(chat, form, saved=form.is_valid())
        status = 200 if form.is_valid() else 422
        return render(request, "chats/chat.html#settings", context, status=status)
    if form.is_valid():
        flash.success(request, "Settings saved.")
        return redirect("chats:chat", chat_id=chat.pk)
    return _page(request, chat, status=422, settings_form=form, settings_open=True)


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
def chat_code(request: HttpRequest, chat_id) -> HttpResponse:
    """View code for the settings as they stand: what sending the next message would send."""
    chat = access.chat_for(request.user, chat_id)
    try:
        provider, model = actions.choose_model(chat.provider, chat.model)
        params = actions.checked_params(chat.params, provider, model, "Check the chat settings")
    except actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
        return _back_to_settings(chat)
    kind, base_url = _provider_endpoint(request, provider)
    context = {
        "message": None,
        "chat": chat,
        "requests": _code_views([prompt.draft_request(chat, params, kind)], base_url, kind),
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
    usage_raw = dict(message.usage_raw or {})
    # The provider's raw error body is for the instance admin only (scrubbed of keys when it
    # was saved); everyone else reads the error in plain words.
    provider_error = usage_raw.pop("provider_error", "")
    details = {
        "message": message,
        "chat": message.chat,
        "requests": _code_views(prompt.requests_for(message), base_url, kind),
        "base_url": base_url,
        "usage_raw": scrub(json.dumps(usage_raw, indent=2)) if usage_raw else "",
        "provider_error": provider_error if request.user.is_superuser else "",
        "thinking_budget": Params.from_dict(message.params).thinking_budget,
        "document_names": [name for _, name in prompt.document_names(message.documents)],
        "timings": [
            ("Queued", message.created_at),
            ("Started", message.started_at),
            ("First token", message.first_token_at),
            ("Thinking ended", message.thinking_ended_at),
            ("Finished", message.finished_at),
        ],
    }
    return render(request, "chats/details.html", details)


def _back_to_settings(chat: Chat) -> HttpResponse:
    return redirect(f"{reverse('chats:chat', args=[chat.pk])}?settings=open#settings-form")


@login_required
@require_POST
def save_preset(request: HttpRequest, chat_id) -> HttpResponse:
    """The chat's current settings as a named preset of its workspace."""
    chat = access.chat_for(request.user, chat_id, Action.CHAT)
    form = PresetForm(request.POST)
    if not form.is_valid():
        flash.error(request, first_error(form))
        return _back_to_settings(chat)
    try:
        preset, created = actions.save_preset(
            chat,
            request.user,
            form.cleaned_data["name"],
            make_default=form.cleaned_data["make_default"],
        )
    except actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
    else:
        flash.success(request, f"{'Saved' if created else 'Updated'} the preset “{preset.name}”.")
    return _back_to_settings(chat)


def _preset_for(chat: Chat, preset_id) -> Preset:
    try:
        return Preset.objects.get(workspace_id=chat.workspace_id, pk=int(preset_id))
    except (Preset.DoesNotExist, TypeError, ValueError):
        raise Http404("No such preset") from None


def _on_preset(request: HttpRequest, chat_id, act, done: str) -> HttpResponse:
    """Act on a preset of the chat's workspace, then say what happened in the drawer."""
    chat = access.chat_for(request.user, chat_id, Action.CHAT)
    preset = _preset_for(chat, request.POST.get("preset"))
    try:
        act(chat, preset)
    except actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
    else:
        flash.success(request, f"{done} the preset “{preset.name}”.")
    return _back_to_settings(chat)


@login_required
@require_POST
def apply_preset(request: HttpRequest, chat_id) -> HttpResponse:
    return _on_preset(request, chat_id, actions.apply_preset, "Applied")


@login_required
@require_POST
def delete_preset(request: HttpRequest, chat_id) -> HttpResponse:
    return _on_preset(
        request,
        chat_id,
        lambda chat, preset: actions.delete_preset(request.user, preset),
        "Deleted",
    )


@login_required
@require_POST
def stop_message(request: HttpRequest, message_id) -> HttpResponse:
    message = access.message_for(request.user, message_id, Action.CHAT)
    actions.request_stop(message)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("chats:chat", chat_id=message.chat_id)


@login_required
@require_POST
def retry_message(request: HttpRequest, message_id) -> HttpResponse:
    message = access.message_for(request.user, message_id, Action.CHAT)
    if message.chat.comparison_id is not None:
        # A column is answered through its comparison, all columns at once: a retry of one
        # alone would put them out of step (as access.chat_for refuses the chat endpoints).
        raise Http404("No such message")
    try:
        actions.retry_reply(message, request.user)
    except actions.ReplyRefused as refusal:
        if request.htmx:
            response = HttpResponse(str(refusal), status=422, content_type="text/plain")
            return _refusal(response, refusal)
        flash.error(request, str(refusal))
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect("chats:chat", chat_id=message.chat_id)


@login_required
@require_POST
def rename_chat(request: HttpRequest, chat_id) -> HttpResponse:
    chat = access.chat_for(request.user, chat_id, Action.CHAT)
    form = RenameForm(request.POST)
    if form.is_valid():
        chat.title = form.cleaned_data["title"]
        chat.save(update_fields=["title", "updated_at"])
    else:
        flash.error(request, first_error(form))
    return redirect("chats:chat", chat_id=chat.pk)


@login_required
@require_POST
def delete_chat(request: HttpRequest, chat_id) -> HttpResponse:
    chat = access.chat_for(request.user, chat_id, Action.CHAT)
    for message_id in chat.messages.filter(status=Message.Status.STREAMING).values_list(
        "pk", flat=True
    ):
        actions.request_stop(Message(pk=message_id))
    chat.delete()
    flash.success(request, "Chat deleted.")
    return redirect("chats:new")
