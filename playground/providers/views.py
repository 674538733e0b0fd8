from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from playground.accounts.models import InstanceSettings
from playground.billing.models import Price, listed_price

from .forms import PriceForm, ProviderForm
from .models import Provider


def _instance_admin(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise PermissionDenied("Only the instance admin manages providers.")


def _provider(pk: str) -> Provider:
    try:
        return Provider.objects.get(pk=int(pk))
    except (Provider.DoesNotExist, ValueError):
        raise Http404("No such provider") from None


@login_required
def provider_list(request: HttpRequest) -> HttpResponse:
    _instance_admin(request)
    return render(
        request,
        "providers/list.html",
        {
            "providers": Provider.objects.all(),
            "instance": InstanceSettings.current(),
        },
    )


@login_required
def provider_edit(request: HttpRequest, pk: str | None = None) -> HttpResponse:
    _instance_admin(request)
    provider = _provider(pk) if pk else None
    form = ProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        flash.success(request, f"Saved {saved.name}.")
        return redirect("providers:list")
    return render(
        request,
        "providers/edit.html",
        {"form": form, "provider": provider},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def provider_delete(request: HttpRequest, pk: str) -> HttpResponse:
    _instance_admin(request)
    provider = _provider(pk)
    provider.delete()
    flash.success(request, f"Removed {provider.name}. Its past answers keep its name.")
    return redirect("providers:list")


@login_required
def provider_prices(request: HttpRequest, pk: str) -> HttpResponse:
    """The price tables of a provider's models: in force now, their history, and a new one."""
    _instance_admin(request)
    provider = _provider(pk)
    if request.method == "POST":
        form = PriceForm(request.POST, provider=provider)
        if form.is_valid():
            Price.objects.update_or_create(
                provider=provider,
                model=form.cleaned_data["model"],
                effective_from=form.cleaned_data["effective_from"],
                defaults={"tiers": form.table.as_json(), "created_by": request.user},
            )
            flash.success(request, f"Saved the price of {form.cleaned_data['model']}.")
            return redirect("providers:prices", pk=provider.pk)
        status = 422
    else:
        form = PriceForm(provider=provider, initial={"effective_from": timezone.now()})
        status = 200
    in_force = []
    for model in provider.model_ids or []:
        table, price = listed_price(provider, model)
        in_force.append({"model": model, "table": table, "price": price})
    return render(
        request,
        "providers/prices.html",
        {
            "provider": provider,
            "form": form,
            "in_force": in_force,
            "history": Price.objects.filter(provider=provider).select_related("created_by"),
        },
        status=status,
    )
