import pytest

from playground.accounts.models import InstanceSettings, User
from playground.workspaces.models import Membership

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 9"


def signup(client, name):
    return client.post(
        "/accounts/signup/", {"username": name, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_first_account_is_admin_and_everyone_gets_a_personal_workspace(client):
    assert signup(client, "ann").status_code == 302
    client.post("/accounts/logout/")
    assert signup(client, "bob").status_code == 302
    ann, bob = User.objects.get(username="ann"), User.objects.get(username="bob")
    assert ann.is_superuser and not bob.is_superuser
    for user in (ann, bob):
        membership = Membership.objects.get(user=user)
        assert membership.workspace.is_personal and membership.role == "owner"


def test_admin_can_close_signups(client):
    signup(client, "ann")
    client.post("/accounts/instance/signups", {})  # unchecked box: closed
    assert not InstanceSettings.current().signups_open
    client.post("/accounts/logout/")
    response = signup(client, "mallory")
    assert response.status_code == 403 and "closed" in response.content.decode()
    assert not User.objects.filter(username="mallory").exists()


def test_non_admins_cannot_toggle_signups(client):
    signup(client, "ann")
    client.post("/accounts/logout/")
    signup(client, "bob")
    response = client.post("/accounts/instance/signups", {})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert InstanceSettings.current().signups_open


def test_bad_signup_input_explains_itself(client):
    response = client.post(
        "/accounts/signup/", {"username": "x y", "password1": "1", "password2": "2"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "didn" in html or "match" in html
    assert not User.objects.exists()


def test_login_and_logout(client):
    signup(client, "ann")
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
    response = client.post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


SIGNUP_LINK = 'href="/accounts/signup/"'


def test_the_login_page_offers_sign_up_only_while_it_is_open(client):
    InstanceSettings.objects.create(pk=1, signups_open=False)
    # No account yet: the first one can always be made, so the link stays.
    assert SIGNUP_LINK in client.get("/accounts/login/").content.decode()
    signup(client, "ann")
    client.post("/accounts/logout/")
    assert SIGNUP_LINK not in client.get("/accounts/login/").content.decode()
    InstanceSettings.objects.filter(pk=1).update(signups_open=True)
    assert SIGNUP_LINK in client.get("/accounts/login/").content.decode()
