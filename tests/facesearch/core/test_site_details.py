"""Small things users notice: a favicon at the address browsers ask for, an admin that says what it is, a sign-in page
that speaks to end users, and an account menu that leads to the API docs (and the admin, for staff)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/frontend/icon.svg")


def test_the_admin_is_branded_and_says_people(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "facesearch administration" in page and ">People<" in page
    assert "Django administration" not in page


def test_the_sign_in_page_does_not_send_end_users_to_a_terminal(client):
    page = client.get("/login/").content.decode()
    assert "manage.py" not in page and "Ask the person who runs facesearch" in page


def test_the_account_menu_links_the_api_docs_and_the_admin_for_staff_only(client, admin_client, user):
    client.force_login(user)
    mine = client.get("/").content.decode()
    assert 'href="/api/docs/"' in mine and 'href="/admin/"' not in mine
    staff = admin_client.get("/").content.decode()
    assert 'href="/api/docs/"' in staff and 'href="/admin/"' in staff
