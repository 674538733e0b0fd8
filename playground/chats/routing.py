from django.urls import path

from .consumers import ComparisonConsumer, SessionConsumer

websocket_urlpatterns = [
    path("ws/chat/<str:session_id>/", SessionConsumer.as_asgi()),
    path("ws/compare/<str:comparison_id>/", ComparisonConsumer.as_asgi()),
]
