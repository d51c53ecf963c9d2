"""The JWT user cache (ticketing/authentication.py): fewer user reads, and no weaker sign-out."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from conftest import client_for

pytestmark = pytest.mark.django_db


def user_reads(capture) -> int:
    return sum('FROM "auth_user"' in q["sql"] for q in capture.captured_queries)


def test_a_token_reads_its_user_once_then_from_the_cache(api):
    with CaptureQueriesContext(connection) as first:
        assert api.get("/api/v1/orders/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert api.get("/api/v1/orders/").status_code == 200
    assert user_reads(first) == 1
    assert user_reads(second) == 0


def test_a_deactivated_user_is_refused_at_once(api, buyer):
    assert api.get("/api/v1/orders/").status_code == 200
    buyer.is_active = False
    buyer.save()
    response = api.get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"  # api.md's code for a bad token


def test_staff_rights_granted_later_count_at_once(make_user):
    user = make_user()
    client = client_for(user)
    assert client.get("/api/v1/stats/").status_code == 403
    user.is_staff = True
    user.save()
    assert client.get("/api/v1/stats/").status_code == 200


def test_with_the_cache_off_every_request_reads_the_user(api, settings):
    settings.JWT_USER_CACHE_SECONDS = 0
    for _ in range(2):
        with CaptureQueriesContext(connection) as capture:
            assert api.get("/api/v1/orders/").status_code == 200
        assert user_reads(capture) == 1


def test_an_expired_token_is_refused_even_when_cached(buyer):
    token = AccessToken.for_user(buyer)
    # exp is whole seconds (RFC 7519 NumericDate): 2 s from now leaves at least 1 s of validity
    token.set_exp(lifetime=timedelta(seconds=2))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/orders/").status_code == 200  # now cached
    time.sleep(max(0.0, token["exp"] - time.time()) + 0.2)
    response = client.get("/api/v1/orders/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"
