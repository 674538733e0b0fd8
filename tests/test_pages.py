"""Pages every screen shares: the styled 404, 403 and 500 pages and the skip link."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from playground.workspaces.access import personal_workspace
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a secret detail from deep inside")


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


# The test urlconf: the app's own, plus views that fail in ways the app's views do not.
urlpatterns = [
    path("test/boom", _boom),
    path("test/forbidden", _forbidden),
    path("", include("playground.urls")),
]


def assert_styled(html: str, back: str) -> None:
    """The app's look (its stylesheet, the brand) and a way back to the chats."""
    assert "/static/css/app.css" in html and "brand-mark" in html
    assert f'<a class="btn btn-primary" href="{back}">Back to your chats</a>' in html


@override_settings(DEBUG=False)
def test_a_missing_page_is_styled_and_says_nothing_of_why(client, owner):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert_styled(html, back="/")
    # Another's provider and a missing one look the same: no reason is shown.
    response = client_for(owner).get("/admin/providers/999/edit")
    assert response.status_code == 404 and "No such provider" not in response.content.decode()


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_refusal_is_styled_and_gives_its_reason_when_it_has_one(member):
    response = client_for(member).get("/admin/providers/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html
    assert '<p class="notice">Only the instance admin manages providers.</p>' in html
    assert_styled(html, back="/")
    response = client_for(member).get("/test/forbidden")
    html = response.content.decode()
    assert response.status_code == 403 and "Not allowed" in html
    assert 'class="notice"' not in html  # no message, no empty box


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_server_error_is_styled_without_a_request_context():
    response = Client(raise_request_exception=False).get("/test/boom")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert_styled(html, back="/")
    assert "secret detail" not in html and "Traceback" not in html


class _Landmarks(HTMLParser):
    """The first element of <body> that takes keyboard focus, and the ids of <main>."""

    FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary"}

    def __init__(self) -> None:
        super().__init__()
        self.in_body, self.first_focusable, self.main_ids = False, None, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.in_body = True
        elif tag == "main":
            self.main_ids.append(attributes.get("id"))
        focusable = tag in self.FOCUSABLE and not (tag == "a" and "href" not in attributes)
        focusable = focusable and attributes.get("type") != "hidden"
        if self.in_body and self.first_focusable is None and focusable:
            self.first_focusable = (tag, attributes)


def landmarks(html: str) -> _Landmarks:
    parser = _Landmarks()
    parser.feed(html)
    return parser


def test_the_first_thing_to_tab_to_skips_to_the_main_content(client, owner):
    owner_client = client_for(owner)
    workspace = personal_workspace(owner)
    for page_client, url in [
        (client, "/accounts/login/"),
        (client, "/no/such/page"),
        (owner_client, "/admin/providers/"),
        (owner_client, f"/workspace/{workspace.pk}/budgets"),  # beside the sidebar
    ]:
        found = landmarks(page_client.get(url).content.decode())
        tag, attributes = found.first_focusable
        assert (tag, attributes.get("href"), attributes.get("class")) == (
            "a",
            "#main",
            "skip-link",
        ), url
        assert found.main_ids == ["main"], url
