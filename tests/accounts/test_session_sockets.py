"""A session that ends takes its open websockets with it: logging out closes that session's
sockets, a new password closes every socket of the person, at once (close code 4401), and
a session whose password hash is stale cannot open a new one."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from playground.accounts.models import User
from playground.asgi import application
from tests.chats.helpers import new_chat
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_SESSION_ENDED = 4401


def socket_of(client, chat) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        f"/ws/chat/{chat.pk}/",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )


async def open_socket(client, chat) -> WebsocketCommunicator:
    communicator = socket_of(client, chat)
    connected, _ = await communicator.connect()
    assert connected
    assert json.loads(await communicator.receive_from())["type"] == "ready"
    return communicator


async def refusal(client, chat) -> int | None:
    """The close code that refuses this session a socket (None: it opened)."""
    communicator = socket_of(client, chat)
    connected, code = await communicator.connect()
    if connected:
        await communicator.disconnect()
        return None
    return code


async def closed_within_a_second(communicator: WebsocketCommunicator) -> int:
    """The close code the consumer sent, within a second."""
    event = await communicator.receive_output(timeout=1)
    assert event["type"] == "websocket.close", event
    return event["code"]


async def still_open(communicator: WebsocketCommunicator) -> bool:
    await communicator.send_to(text_data='{"type": "ping"}')
    return json.loads(await communicator.receive_from()) == {"type": "pong"}


@pytest.fixture
def two_sessions(owner, simulator):
    """The owner's chat, and two sessions of the owner's (a laptop and a phone)."""
    return new_chat(owner, simulator), client_for(owner), client_for(owner)


async def test_logging_out_closes_that_sessions_sockets_at_once(two_sessions):
    chat, laptop, phone = two_sessions
    on_laptop, on_phone = await open_socket(laptop, chat), await open_socket(phone, chat)
    old_cookie = laptop.cookies["sessionid"].value

    response = await sync_to_async(laptop.post)("/accounts/logout/")
    assert response.status_code == 302

    assert await closed_within_a_second(on_laptop) == CLOSE_SESSION_ENDED
    assert await still_open(on_phone), "the phone's session did not end"
    laptop.cookies["sessionid"] = old_cookie  # the old cookie opens nothing any more
    assert await refusal(laptop, chat) == 4404
    await on_phone.disconnect()


async def test_a_new_password_closes_every_socket_of_the_person(owner, two_sessions):
    chat, laptop, phone = two_sessions
    sockets = [await open_socket(laptop, chat), await open_socket(phone, chat)]

    owner.set_password("a brand new horse 42")
    await owner.asave()

    for communicator in sockets:
        assert await closed_within_a_second(communicator) == CLOSE_SESSION_ENDED
    # channels' AuthMiddlewareStack checks the session's password hash: a session from
    # before the change opens nothing.
    assert await refusal(laptop, chat) == 4404
    fresh = await open_socket(await sync_to_async(client_for)(owner), chat)
    assert await still_open(fresh)
    await fresh.disconnect()


async def test_other_changes_to_the_person_leave_their_sockets_open(owner, two_sessions):
    chat, laptop, _ = two_sessions
    communicator = await open_socket(laptop, chat)
    owner.email = "owner@example.com"
    await owner.asave()
    await User.objects.filter(pk=owner.pk).aupdate(first_name="Olive")
    await sync_to_async(laptop.get)("/")
    assert await still_open(communicator)
    await communicator.disconnect()


async def test_someone_elses_logout_leaves_a_socket_open(owner, member, simulator):
    chat = await sync_to_async(new_chat)(owner, simulator)
    communicator = await open_socket(await sync_to_async(client_for)(owner), chat)
    other = await sync_to_async(client_for)(member)
    await sync_to_async(other.post)("/accounts/logout/")
    member.set_password("a brand new horse 42")
    await member.asave()
    assert await still_open(communicator)
    await communicator.disconnect()
