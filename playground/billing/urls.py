from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("budgets/", views.my_budgets, name="my_budgets"),
    path("workspace/<int:workspace_id>/budgets", views.workspace_budgets, name="budgets"),
    path("usage/", views.my_usage, name="my_usage"),
    path("usage/export.csv", views.my_export, name="my_export"),
    path("workspace/<int:workspace_id>/usage", views.workspace_usage, name="workspace_usage"),
    path(
        "workspace/<int:workspace_id>/usage/export.csv",
        views.workspace_export,
        name="workspace_export",
    ),
]
