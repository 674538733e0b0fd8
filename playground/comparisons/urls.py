from django.urls import path

from . import views

app_name = "comparisons"

urlpatterns = [
    path("compare/new", views.new_comparison, name="new"),
    path("compare/start", views.start_comparison, name="start"),
    path("compare/<uuid:comparison_id>", views.comparison_detail, name="detail"),
    path("compare/<uuid:comparison_id>/send", views.send_to_all, name="send"),
    path("compare/<uuid:comparison_id>/delete", views.delete_comparison, name="delete"),
    path("chat/<uuid:chat_id>/continue", views.continue_column, name="continue"),
]
