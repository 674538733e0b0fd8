"""Budgets of a workspace, set by its owners and admins (issue 5)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from playground.workspaces.access import workspace_for
from playground.workspaces.policy import Action, require

from . import actions, budgets, usage
from .forms import BudgetsForm
from .models import Budget, UsageDay, UsageRecord


def _workspace(user, workspace_id: int, action: Action):
    """Outsiders 404; a member without the right 403 with the reason (the role policy)."""
    workspace = workspace_for(user, workspace_id)
    require(user, action, workspace)
    return workspace


@login_required
def my_budgets(request: HttpRequest) -> HttpResponse:
    return redirect("billing:budgets", workspace_id=request.workspace.pk)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_budgets(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = _workspace(request.user, workspace_id, Action.MANAGE_BUDGETS)
    members = [
        m.user for m in workspace.memberships.select_related("user").order_by("user__username")
    ]
    existing = {b.user_id: b for b in Budget.objects.filter(workspace=workspace)}
    if request.method == "POST":
        form = BudgetsForm(request.POST, members=members)
        if form.is_valid():
            actions.set_caps(workspace, request.user, form.caps())
            flash.success(request, "Budgets saved.")
            return redirect("billing:budgets", workspace_id=workspace.pk)
    else:
        initial = {"workspace_cap": existing.get(None)}
        initial |= {BudgetsForm.field_name(m): existing.get(m.pk) for m in members}
        initial = {name: f"{b.cap:.2f}" for name, b in initial.items() if b is not None}
        form = BudgetsForm(initial=initial, members=members)
    month = budgets.this_month()
    rows = []
    for member in [None, *members]:
        budget = existing.get(member.pk if member else None)
        standing = None
        if budget is not None:
            row = budgets.month_row(budget, month)
            standing = budgets.Standing(
                "", budget.monthly_cap_micros, row.spent_micros, row.reserved_micros
            )
        name = BudgetsForm.field_name(member) if member else "workspace_cap"
        rows.append({"member": member, "field": form[name], "standing": standing})
    return render(
        request,
        "billing/budgets.html",
        {"workspace": workspace, "rows": rows, "form": form},
        status=422 if form.errors else 200,
    )


def _usage_page(request: HttpRequest, usage_days, title: str, export_url: str, members: bool):
    today = timezone.now().date()
    error = ""
    try:
        first, last = usage.date_range(request.GET.get("from"), request.GET.get("to"), today)
    except usage.RangeError as problem:
        error = str(problem)
        first, last = usage.date_range(None, None, today)
    result = usage.report(usage_days, first, last, members=members)
    return render(
        request,
        "billing/usage.html",
        {
            "title": title,
            "report": result,
            "chart": result.chart(),
            "range_error": error,
            "export_url": f"{export_url}?from={first:%Y-%m-%d}&to={last:%Y-%m-%d}",
        },
        status=422 if error else 200,
    )


def _export(request: HttpRequest, records, name: str) -> HttpResponse:
    try:
        first, last = usage.date_range(
            request.GET.get("from"), request.GET.get("to"), timezone.now().date()
        )
    except usage.RangeError as problem:
        return HttpResponse(str(problem), status=422, content_type="text/plain")
    response = StreamingHttpResponse(
        usage.csv_lines(records, first, last), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-usage-{first:%Y%m%d}-{last:%Y%m%d}.csv"'
    )
    return response


@login_required
@require_GET
def my_usage(request: HttpRequest) -> HttpResponse:
    """What the person spent, in every workspace."""
    days = UsageDay.objects.filter(user_id=request.user.pk)
    return _usage_page(request, days, "Your usage", reverse("billing:my_export"), False)


@login_required
@require_GET
def my_export(request: HttpRequest) -> HttpResponse:
    return _export(request, UsageRecord.objects.filter(user=request.user), "my")


@login_required
@require_GET
def workspace_usage(request: HttpRequest, workspace_id) -> HttpResponse:
    """What the workspace spent, by member too (its owners and admins)."""
    workspace = _workspace(request.user, workspace_id, Action.VIEW_WORKSPACE_USAGE)
    days = UsageDay.objects.filter(workspace_id=workspace.pk)
    export = reverse("billing:workspace_export", args=[workspace.pk])
    return _usage_page(request, days, f"Usage of {workspace.name}", export, True)


@login_required
@require_GET
def workspace_export(request: HttpRequest, workspace_id) -> HttpResponse:
    workspace = _workspace(request.user, workspace_id, Action.VIEW_WORKSPACE_USAGE)
    return _export(request, UsageRecord.objects.filter(workspace=workspace), "workspace")
