"""Pages of Compare: set up 2 to 4 columns, watch them answer side by side, follow up in all of
them, continue one as a chat (playground.chats.compare)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from playground.billing import budgets
from playground.llm.params import RECOMMENDED_SYSTEM_PROMPTS, Params, output_limit
from playground.providers.models import Provider, default_provider
from playground.workspaces.access import personal_workspace

from . import access, actions, compare
from .forms import ColumnForm, model_choice
from .models import Comparison, Message, Chat
from .views import model_choices, render_message_html, sidebar_context

COLUMN_NUMBERS = range(1, compare.MAX_COLUMNS + 1)


def _default_columns(user, providers: list[Provider]) -> list[tuple[str, Params]]:
    """Two columns to start from: the workspace's default settings on the default model and on
    the provider's next model (MiniMax-M1-40k beside MiniMax-M1-80k)."""
    provider = default_provider()
    params = Params.from_dict(actions.default_params(personal_workspace(user)))
    if provider is None or not provider.model_ids:
        return [("", params), ("", params)]
    models = provider.model_ids
    second = models[1] if len(models) > 1 else models[0]
    return [(model_choice(provider, models[0]), params), (model_choice(provider, second), params)]


def _columns_of(comparison: Comparison) -> list[tuple[str, Params]]:
    return [
        (model_choice(s.provider, s.model) if s.provider else "", Params.from_dict(s.params))
        for s in comparison.column_chats()
    ]


def _first_prompt(comparison: Comparison) -> str:
    first = (
        Message.objects.filter(chat__comparison=comparison, role=Message.Role.USER)
        .order_by("created_at", "pk")
        .first()
    )
    return first.content if first else ""


def _setup_page(
    request: HttpRequest, forms: list[ColumnForm], prompt: str, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        **sidebar_context(request.user),
        "column_forms": forms,
        "draft": prompt,
        "composer_error": error,
        "max_columns": compare.MAX_COLUMNS,
        "recommended_prompts": RECOMMENDED_SYSTEM_PROMPTS,
        "has_models": any(p.model_ids for p in model_choices()),
    }
    return render(request, "chats/compare_new.html", context, status=status)


@login_required
@require_GET
def new_comparison(request: HttpRequest) -> HttpResponse:
    """Set up a comparison; ``?from=<id>`` starts from an earlier one's columns and prompt."""
    providers = model_choices()
    columns: list[tuple[str, Params]] = []
    prompt = ""
    if source := request.GET.get("from"):
        comparison = access.comparison_for(request.user, source)
        columns, prompt = _columns_of(comparison), _first_prompt(comparison)
    if not columns:
        columns = _default_columns(request.user, providers)
    included = len(columns)
    while len(columns) < compare.MAX_COLUMNS:  # spare cards, shown by "Add a column"
        columns.append(columns[len(columns) % included])
    forms = [
        ColumnForm(number=n, providers=providers, choice=choice, params=params)
        for n, (choice, params) in zip(COLUMN_NUMBERS, columns, strict=True)
    ]
    for form in forms:
        form.included = form.number <= included
    return _setup_page(request, forms, prompt)


def _is_included(request: HttpRequest, number: int) -> bool:
    """The first two columns always take part; the others once added ("Add a column")."""
    return number <= compare.MIN_COLUMNS or request.POST.get(f"c{number}-included") == "1"


@login_required
@require_POST
def start_comparison(request: HttpRequest) -> HttpResponse:
    providers = model_choices()
    forms = [ColumnForm(request.POST, number=n, providers=providers) for n in COLUMN_NUMBERS]
    for form in forms:
        form.included = _is_included(request, form.number)
    prompt = request.POST.get("text", "")
    used = [form for form in forms if form.included]
    if not all([form.is_valid() for form in used]):  # a list: every column shows its errors
        error = "Some column settings need fixing; nothing was sent."
        return _setup_page(request, forms, prompt, error, status=422)
    try:
        comparison = compare.start_comparison(
            request.user,
            personal_workspace(request.user),
            prompt,
            [form.column() for form in used],
        )
    except actions.ReplyRefused as refusal:
        return _setup_page(request, forms, prompt, str(refusal), status=422)
    return redirect("chats:comparison", comparison_id=comparison.pk)


def _column_view(chat: Chat) -> dict:
    params = Params.from_dict(chat.params)
    return {
        "chat": chat,
        "branch": chat.branch(),
        "summary": compare.settings_summary(params, output_limit(chat.model)),
        "dom_id": f"column-{chat.column}-messages",
    }


@login_required
@require_GET
def comparison_detail(request: HttpRequest, comparison_id) -> HttpResponse:
    comparison = access.comparison_for(request.user, comparison_id)
    columns = comparison.column_chats()
    for chat in columns:
        actions.fail_stale_streams(chat)
    standings = budgets.standings(comparison.workspace_id, request.user)
    context = {
        **sidebar_context(request.user),
        "comparison": comparison,
        "columns": [_column_view(s) for s in columns],
        "budget_warnings": [s for s in standings if s.level != "ok"],
    }
    return render(request, "chats/compare.html", context)


@login_required
@require_POST
def send_to_all(request: HttpRequest, comparison_id) -> HttpResponse:
    """A follow-up to every column; the answer appends each column's new messages in place."""
    comparison = access.comparison_for(request.user, comparison_id)
    text = request.POST.get("text", "")
    try:
        started = compare.send_to_all(comparison, request.user, text)
    except actions.ReplyRefused as refusal:
        if not request.htmx:
            flash.error(request, str(refusal))
            return redirect("chats:comparison", comparison_id=comparison.pk)
        context = {"comparison": comparison, "composer_error": str(refusal), "draft": text}
        response = render(request, "chats/compare.html#composer", context, status=422)
        response["HX-Retarget"] = "#composer"
        response["HX-Reswap"] = "outerHTML"
        return response
    if not request.htmx:
        return redirect("chats:comparison", comparison_id=comparison.pk)
    html = "".join(
        render_to_string(
            "chats/compare.html#column_append",
            {
                "dom_id": f"column-{chat.column}-messages",
                "html": "".join(render_message_html(m) for m in messages),
            },
        )
        for chat, messages in started
    )
    return HttpResponse(html)


@login_required
@require_POST
def continue_column(request: HttpRequest, chat_id) -> HttpResponse:
    column = access.any_chat_for(request.user, chat_id)
    try:
        chat = compare.continue_as_chat(column, request.user)
    except actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
        if column.comparison_id:
            return redirect("chats:comparison", comparison_id=column.comparison_id)
        return redirect("chats:chat", chat_id=column.pk)
    flash.success(request, f"Continuing column {column.column} ({column.model}) as a chat.")
    return redirect("chats:chat", chat_id=chat.pk)


@login_required
@require_POST
def delete_comparison(request: HttpRequest, comparison_id) -> HttpResponse:
    comparison = access.comparison_for(request.user, comparison_id)
    streaming = Message.objects.filter(
        chat__comparison=comparison, status=Message.Status.STREAMING
    ).values_list("pk", flat=True)
    for message_id in streaming:
        actions.request_stop(Message(pk=message_id))
    comparison.delete()
    flash.success(request, "Comparison deleted.")
    return redirect("chats:new_comparison")
