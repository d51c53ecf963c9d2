"""Limits and operations: rate limits (429), body size (413), health and stats."""

import pytest
from django.core.cache import cache

from conftest import client_for, seat_guids

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "A", "email": "a@example.com"}


def test_hold_rate_limit_answers_429_with_retry_after(settings, api, showtime):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_HOLDS = "3/m"
    cache.clear()
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    codes = [
        api.post(url, {"seats": seat_guids(showtime, 1)}, format="json").status_code
        for _ in range(4)
    ]
    assert codes[:3] == [201, 200, 200]
    response = api.post(url, {"seats": seat_guids(showtime, 1)}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_auth_rate_limit_is_per_ip_when_anonymous(settings, client, buyer):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_AUTH = "2/m"
    cache.clear()
    body = {"username": "alice", "password": "wrong"}
    codes = [
        client.post("/api/v1/auth/token/", body, content_type="application/json").status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 429]


def test_oversized_body_is_413(api, showtime):
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": ["x" * 60] * 2000}, format="json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_health_reports_database_and_channel_layer(client):
    body = client.get("/api/v1/health/").json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["channel_layer"] == "ok"


def test_stats_count_conflicts_replays_and_conversion(make_user, showtime, clock):
    staff, alice, bob = make_user(staff=True), make_user(), make_user()
    a_api, b_api = client_for(alice), client_for(bob)
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    a, b, c = seat_guids(showtime, 3)
    hold_a = a_api.post(url, {"seats": [a, b]}, format="json").json()["id"]
    assert b_api.post(url, {"seats": [b]}, format="json").status_code == 409  # conflict 1
    assert (
        b_api.post(
            "/api/v1/orders/",
            {"showtime": showtime.pk, "seats": [a], "customer": CUSTOMER, "payment_method": "cash"},
            format="json",
        ).status_code
        == 409
    )  # conflict 2
    clock.advance(10)
    for _ in range(2):  # first creates, second replays
        a_api.post(
            "/api/v1/orders/",
            {"hold": hold_a, "customer": CUSTOMER, "payment_method": "card"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="k",
        )
    hold_b = b_api.post(url, {"seats": [c]}, format="json").json()["id"]
    clock.advance(20)
    b_api.delete(f"/api/v1/holds/{hold_b}/")

    assert client_for(alice).get("/api/v1/stats/").status_code == 403
    stats = client_for(staff).get("/api/v1/stats/").json()
    assert stats["holds"] == {
        "active": 0,
        "seats_held": 0,
        "abandoned": 0,
        "abandoned_release_median_seconds": None,
    }
    assert stats["orders"] == {"pending": 1, "paid": 0, "cancelled": 0, "expired": 0, "refunded": 0}
    assert stats["prevented_duplicates"] == {"seat_conflicts": 2, "idempotent_replays": 1}
    assert stats["conversion"]["holds_converted_ratio"] == 0.5  # 1 converted, 1 released
    assert stats["conversion"]["median_hold_seconds"] == pytest.approx(15, abs=1)
    assert stats["realtime"] == {"connections": 0}
