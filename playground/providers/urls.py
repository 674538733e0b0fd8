from django.urls import path

from . import views

app_name = "providers"

urlpatterns = [
    path("", views.provider_list, name="list"),
    path("new", views.provider_edit, name="new"),
    path("<str:pk>/edit", views.provider_edit, name="edit"),
    path("<str:pk>/delete", views.provider_delete, name="delete"),
    path("<str:pk>/prices", views.provider_prices, name="prices"),
]
