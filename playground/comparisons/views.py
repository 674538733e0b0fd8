"""Pages of Compare: set up 2 to 4 columns, watch them answer side by side, follow up in all of
them, continue one as a chat (playground.comparisons.actions)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from playground.billing import budgets
from playground.chats import access as chat_access
from playground.chats import actions as chat_actions
from playground.chats.models import Chat, Message
from playground.chats.rendering import render_message_html
from playground.llm.params import RECOMMENDED_SYSTEM_PROMPTS, Params, output_limit
from playground.providers.models import Provider, default_provider
from playground.workspaces.policy import Action, require

from . import access, actions
from .forms import ColumnForm, model_choice
from .models import Comparison

COLUMN_NUMBERS = range(1, actions.MAX_COLUMNS + 1)


def _default_columns(workspace, providers: list[Provider]) -> list[tuple[str, Params]]:
    """Two columns to start from: the workspace's default settings on the default model and on
    the provider's next model (MiniMax-M1-40k beside MiniMax-M1-80k)."""
    provider = default_provider()
    params = Params.from_dict(chat_actions.default_params(workspace))
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
        "column_forms": forms,
        "draft": prompt,
        "composer_error": error,
        "max_columns": actions.MAX_COLUMNS,
        "recommended_prompts": RECOMMENDED_SYSTEM_PROMPTS,
        "has_models": any(form.fields["model"].choices for form in forms),
    }
    if request.htmx and status != 200:
        # The form alone, in place: the address stays /compare/new, so a reload does not post
        # the prompt again.
        return render(request, "comparisons/new.html#setup_form", context, status=status)
    return render(request, "comparisons/new.html", context, status=status)


@login_required
@require_GET
def new_comparison(request: HttpRequest) -> HttpResponse:
    """Set up a comparison; ``?from=<id>`` starts from an earlier one's columns and prompt."""
    providers = list(Provider.objects.enabled())
    columns: list[tuple[str, Params]] = []
    prompt = ""
    if source := request.GET.get("from"):
        comparison = access.comparison_for(request.user, source)
        columns, prompt = _columns_of(comparison), _first_prompt(comparison)
    if not columns:
        columns = _default_columns(request.workspace, providers)
    included = len(columns)
    while len(columns) < actions.MAX_COLUMNS:  # spare cards, shown by "Add a column"
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
    return number <= actions.MIN_COLUMNS or request.POST.get(f"c{number}-included") == "1"


@login_required
@require_POST
def start_comparison(request: HttpRequest) -> HttpResponse:
    providers = list(Provider.objects.enabled())
    forms = [ColumnForm(request.POST, number=n, providers=providers) for n in COLUMN_NUMBERS]
    for form in forms:
        form.included = _is_included(request, form.number)
    prompt = request.POST.get("text", "")
    used = [form for form in forms if form.included]
    if not all([form.is_valid() for form in used]):  # a list: every column shows its errors
        error = "Some column settings need fixing; nothing was sent."
        return _setup_page(request, forms, prompt, error, status=422)
    require(request.user, Action.CHAT, request.workspace)
    try:
        comparison = actions.start_comparison(
            request.user, request.workspace, prompt, [form.column() for form in used]
        )
    except chat_actions.ReplyRefused as refusal:
        return _setup_page(request, forms, prompt, str(refusal), status=422)
    if request.htmx:
        return HttpResponseClientRedirect(comparison.get_absolute_url())
    return redirect(comparison)


def _column_view(chat: Chat) -> dict:
    params = Params.from_dict(chat.params)
    return {
        "chat": chat,
        "branch": chat.branch(),
        "summary": actions.settings_summary(params, output_limit(chat.model)),
        "dom_id": f"column-{chat.column}-messages",
    }


@login_required
@require_GET
def comparison_detail(request: HttpRequest, comparison_id) -> HttpResponse:
    comparison = access.comparison_for(request.user, comparison_id)
    columns = comparison.column_chats()
    standings = budgets.standings(comparison.workspace_id, request.user)
    context = {
        "comparison": comparison,
        "columns": [_column_view(s) for s in columns],
        "budget_warnings": [s for s in standings if s.level != "ok"],
    }
    return render(request, "comparisons/detail.html", context)


@login_required
@require_POST
def send_to_all(request: HttpRequest, comparison_id) -> HttpResponse:
    """A follow-up to every column; the answer appends each column's new messages in place."""
    comparison = access.comparison_for(request.user, comparison_id, Action.CHAT)
    text = request.POST.get("text", "")
    try:
        started = actions.send_to_all(comparison, request.user, text)
    except chat_actions.ReplyRefused as refusal:
        if not request.htmx:
            flash.error(request, str(refusal))
            return redirect(comparison)
        context = {"comparison": comparison, "composer_error": str(refusal), "draft": text}
        response = render(request, "comparisons/detail.html#composer", context, status=422)
        return reswap(retarget(response, "#composer"), "outerHTML")
    if not request.htmx:
        return redirect(comparison)
    html = "".join(
        render_to_string(
            "comparisons/detail.html#column_append",
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
    column = chat_access.any_chat_for(request.user, chat_id, Action.CHAT)
    try:
        chat = actions.continue_as_chat(column, request.user)
    except chat_actions.ReplyRefused as refusal:
        flash.error(request, str(refusal))
        if column.comparison_id:
            return redirect("comparisons:detail", comparison_id=column.comparison_id)
        return redirect(column)
    flash.success(request, f"Continuing column {column.column} ({column.model}) as a chat.")
    return redirect("chats:chat", chat_id=chat.pk)


@login_required
@require_POST
def delete_comparison(request: HttpRequest, comparison_id) -> HttpResponse:
    comparison = access.comparison_for(request.user, comparison_id, Action.CHAT)
    streaming = Message.objects.filter(
        chat__comparison=comparison, status=Message.Status.STREAMING
    ).values_list("pk", flat=True)
    for message_id in streaming:
        chat_actions.request_stop(Message(pk=message_id))
    comparison.delete()
    flash.success(request, "Comparison deleted.")
    return redirect("comparisons:new")
