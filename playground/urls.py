from django.urls import include, path

urlpatterns = [
    path("accounts/", include("playground.accounts.urls")),
    path("admin/providers/", include("playground.providers.urls")),
    path("", include("playground.documents.urls")),
    path("", include("playground.billing.urls")),
    path("", include("playground.comparisons.urls")),
    path("", include("playground.chats.urls")),
]
