from django.urls import path

from . import views

app_name = "chats"

urlpatterns = [
    path("", views.home, name="home"),
    path("chat/new", views.new_chat, name="new"),
    path("chat/start", views.start_chat, name="start"),
    path("chat/<uuid:chat_id>", views.chat_detail, name="chat"),
    path("chat/<uuid:chat_id>/send", views.send_message, name="send"),
    path("chat/<uuid:chat_id>/model", views.set_model, name="set_model"),
    path("chat/<uuid:chat_id>/settings", views.chat_settings, name="settings"),
    path("chat/<uuid:chat_id>/code", views.chat_code, name="code"),
    path("chat/<uuid:chat_id>/presets/save", views.save_preset, name="save_preset"),
    path("chat/<uuid:chat_id>/presets/apply", views.apply_preset, name="apply_preset"),
    path("chat/<uuid:chat_id>/presets/delete", views.delete_preset, name="delete_preset"),
    path("chat/<uuid:chat_id>/rename", views.rename_chat, name="rename"),
    path("chat/<uuid:chat_id>/delete", views.delete_chat, name="delete"),
    path("message/<int:message_id>/details", views.message_details, name="details"),
    path("message/<int:message_id>/stop", views.stop_message, name="stop"),
    path("message/<int:message_id>/retry", views.retry_message, name="retry"),
]
