from django.urls import path

from . import views

app_name = "chats"

urlpatterns = [
    path("", views.home, name="home"),
    path("chat/new", views.new_chat, name="new"),
    path("chat/start", views.start_session, name="start"),
    path("chat/<str:session_id>", views.session_detail, name="session"),
    path("chat/<str:session_id>/send", views.send_message, name="send"),
    path("chat/<str:session_id>/model", views.set_model, name="set_model"),
    path("chat/<str:session_id>/settings", views.session_settings, name="settings"),
    path("chat/<str:session_id>/code", views.session_code, name="code"),
    path("chat/<str:session_id>/presets/save", views.save_preset, name="save_preset"),
    path("chat/<str:session_id>/presets/apply", views.apply_preset, name="apply_preset"),
    path("chat/<str:session_id>/presets/delete", views.delete_preset, name="delete_preset"),
    path("chat/<str:session_id>/rename", views.rename_session, name="rename"),
    path("chat/<str:session_id>/delete", views.delete_session, name="delete"),
    path("message/<str:message_id>/details", views.message_details, name="details"),
    path("message/<str:message_id>/stop", views.stop_message, name="stop"),
    path("message/<str:message_id>/retry", views.retry_message, name="retry"),
]
