from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("documents/", views.library, name="library"),
    path("documents/upload", views.upload, name="upload"),
    path("documents/<int:document_id>", views.document_detail, name="detail"),
    path("documents/<int:document_id>/text", views.document_text, name="text"),
    path("documents/<int:document_id>/delete", views.delete, name="delete"),
    path("chat/<uuid:chat_id>/documents/attach", views.attach, name="attach"),
    path("chat/<uuid:chat_id>/documents/<int:document_id>/detach", views.detach, name="detach"),
    path("chat/<uuid:chat_id>/documents/<int:document_id>/retry", views.retry, name="retry"),
    path("chat/<uuid:chat_id>/documents/<int:document_id>", views.chip, name="chip"),
    path("chat/<uuid:chat_id>/context", views.context_meter, name="context"),
]
