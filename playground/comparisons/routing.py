from django.urls import path

from .consumers import ComparisonConsumer

websocket_urlpatterns = [
    path("ws/compare/<str:comparison_id>/", ComparisonConsumer.as_asgi()),
]
