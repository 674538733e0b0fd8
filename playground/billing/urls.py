from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("budgets/", views.my_budgets, name="my_budgets"),
    path("workspace/<int:workspace_id>/budgets", views.workspace_budgets, name="budgets"),
]
