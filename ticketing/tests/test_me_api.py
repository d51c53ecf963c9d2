"""``GET``/``PATCH auth/me/``: the buyer's saved language (api.md "Auth", "Languages")."""

import pytest
from django.test import Client

from conftest import client_for

pytestmark = pytest.mark.django_db


def test_me_reads_the_account_with_no_language_saved(api, buyer):
    response = api.get("/api/v1/auth/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": buyer.pk,
        "username": "alice",
        "email": "alice@example.com",
        "language": None,
    }


def test_a_saved_language_answers_every_later_request_in_it(buyer):
    api = client_for(buyer)
    assert api.get("/api/v1/orders/999/").json()["error"]["message"] == "No such order."
    response = api.patch("/api/v1/auth/me/", {"language": "th"}, format="json")
    assert response.status_code == 200
    assert response.json()["language"] == "th"
    assert response.headers["Content-Language"] == "th"  # this answer is already in it
    # The same token (its user cached by ticketing.authentication) answers in Thai now, whatever
    # Accept-Language says; a session page too.
    later = api.get("/api/v1/orders/999/", HTTP_ACCEPT_LANGUAGE="en")
    assert later.headers["Content-Language"] == "th"
    assert later.json()["error"]["message"] == "ไม่พบคำสั่งซื้อนี้"
    assert client_for(buyer).get("/api/v1/auth/me/").json()["language"] == "th"
    page = Client()
    page.force_login(buyer)
    assert page.get("/", HTTP_ACCEPT_LANGUAGE="en").headers["Content-Language"] == "th"
    # And back.
    api.patch("/api/v1/auth/me/", {"language": "en"}, format="json")
    assert (
        api.get("/api/v1/orders/999/", HTTP_ACCEPT_LANGUAGE="th").headers["Content-Language"]
        == "en"
    )


def test_an_unknown_language_is_a_validation_error_in_the_requests_language(api):
    response = api.patch(
        "/api/v1/auth/me/", {"language": "de"}, format="json", HTTP_ACCEPT_LANGUAGE="th"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["details"]) == ["language"]
    assert error["details"]["language"] == ['"de" ไม่ใช่ตัวเลือกที่ถูกต้อง']


def test_me_needs_a_signed_in_buyer():
    client = Client()
    assert client.get("/api/v1/auth/me/").status_code == 401
    assert (
        client.patch(
            "/api/v1/auth/me/", {"language": "th"}, content_type="application/json"
        ).status_code
        == 401
    )
