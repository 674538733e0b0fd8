from django.urls import path

from .consumers import ComparisonConsumer, ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/<str:chat_id>/", ChatConsumer.as_asgi()),
    path("ws/compare/<str:comparison_id>/", ComparisonConsumer.as_asgi()),
]
