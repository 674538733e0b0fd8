from django.urls import path

from . import compare_views, views

app_name = "chats"

urlpatterns = [
    path("", views.home, name="home"),
    path("chat/new", views.new_chat, name="new"),
    path("chat/start", views.start_chat, name="start"),
    path("chat/<str:chat_id>", views.chat_detail, name="chat"),
    path("chat/<str:chat_id>/send", views.send_message, name="send"),
    path("chat/<str:chat_id>/model", views.set_model, name="set_model"),
    path("chat/<str:chat_id>/settings", views.chat_settings, name="settings"),
    path("chat/<str:chat_id>/code", views.chat_code, name="code"),
    path("chat/<str:chat_id>/presets/save", views.save_preset, name="save_preset"),
    path("chat/<str:chat_id>/presets/apply", views.apply_preset, name="apply_preset"),
    path("chat/<str:chat_id>/presets/delete", views.delete_preset, name="delete_preset"),
    path("chat/<str:chat_id>/rename", views.rename_chat, name="rename"),
    path("chat/<str:chat_id>/delete", views.delete_chat, name="delete"),
    path("chat/<str:chat_id>/continue", compare_views.continue_column, name="continue"),
    path("compare/new", compare_views.new_comparison, name="new_comparison"),
    path("compare/start", compare_views.start_comparison, name="start_comparison"),
    path("compare/<str:comparison_id>", compare_views.comparison_detail, name="comparison"),
    path("compare/<str:comparison_id>/send", compare_views.send_to_all, name="compare_send"),
    path(
        "compare/<str:comparison_id>/delete",
        compare_views.delete_comparison,
        name="delete_comparison",
    ),
    path("message/<str:message_id>/details", views.message_details, name="details"),
    path("message/<str:message_id>/stop", views.stop_message, name="stop"),
    path("message/<str:message_id>/retry", views.retry_message, name="retry"),
]
