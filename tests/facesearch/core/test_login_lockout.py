"""Sign-in lockout (django-axes): wrong passwords in a row lock one username from one address, on the sign-in page
and the admin's, for FACESEARCH_LOGIN_COOLOFF minutes; API tokens are not affected."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # UserFactory's
LOCKED = "Too many wrong passwords"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5  # the FACESEARCH_LOGIN_FAILURES default, whatever the environment says


def sign_in(client: Client, path: str, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_sixth_try_after_five_wrong_passwords_is_refused_even_with_the_right_password(client, path):
    user = UserFactory(is_staff=True)
    wrong = [sign_in(client, path, user.username, "wrong").status_code for _ in range(4)]
    fifth = sign_in(client, path, user.username, "wrong")

    sixth = sign_in(client, path, user.username, PASSWORD)

    assert wrong == [200] * 4  # the form again, with its error
    assert fifth.status_code == 429 and sixth.status_code == 429
    page = sixth.content.decode()
    assert LOCKED in page and "refused for 15 minutes" in page and user.username in page
    assert not signed_in(client)
    # The lock is on this username from this address: the same password from elsewhere, or another user, signs in.
    assert sign_in(Client(), path, user.username, PASSWORD, address="10.0.0.2").status_code == 302
    other = UserFactory(is_staff=True)
    assert sign_in(client, path, other.username, PASSWORD).status_code == 302 and signed_in(client)


@pytest.mark.django_db
def test_signing_in_forgets_the_wrong_passwords_before_it(client):
    user = UserFactory()
    for _ in range(4):
        sign_in(client, "/login/", user.username, "wrong")
    assert sign_in(client, "/login/", user.username, PASSWORD).status_code == 302
    client.logout()

    answers = [sign_in(client, "/login/", user.username, "wrong").status_code for _ in range(4)]

    assert answers == [200] * 4
    assert sign_in(client, "/login/", user.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_locked_out_user_keeps_using_the_api_with_a_token_and_an_existing_session(api_client, user, client):
    client.force_login(user)
    for _ in range(6):
        sign_in(Client(), "/login/", user.username, "wrong")

    assert sign_in(Client(), "/login/", user.username, PASSWORD).status_code == 429
    assert api_client.get("/api/photos/").status_code == 200
    assert client.get("/api/photos/").status_code == 200 and client.get("/").status_code == 200
