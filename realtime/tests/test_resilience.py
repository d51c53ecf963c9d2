"""Redis down: the REST API still sells seats (no 5xx), the failed publishes are logged and
counted, and health says "degraded" (issue: resilience)."""

import pytest

from conftest import seat_guids
from core import redisguard
from realtime import events
from seats.models import ShowtimeSeat

DEAD_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


@pytest.fixture
def redis_down(settings):
    """Point the channel layer, the cache (rate limits) and the seq counter at a Redis that is not
    there, as if Redis had just died."""
    settings.REDIS_URL = DEAD_REDIS
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": DEAD_REDIS, "socket_connect_timeout": 1}]},
        }
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    settings.RATELIMIT_ENABLE = True
    # Django and Channels drop their cached cache and layer objects when these settings change.
    redisguard.reset_client()
    yield
    redisguard.reset_client()


@pytest.mark.django_db(transaction=True)
def test_api_sells_seats_while_redis_is_down(redis_down, api, showtime, caplog):
    failures = events.publish_failures
    a, b = seat_guids(showtime, 2)
    hold = api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [a, b]}, format="json")
    assert hold.status_code == 201
    order = api.post(
        "/api/v1/orders/",
        {
            "hold": hold.json()["id"],
            "payment_method": "card",
            "customer": {"name": "A", "email": "a@example.com"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="while-down",
    )
    assert order.status_code == 201
    paid = api.post(f"/api/v1/orders/{order.json()['id']}/pay/")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert set(
        ShowtimeSeat.objects.filter(seat__guid__in=[a, b]).values_list("status", flat=True)
    ) == {"sold"}
    # hold: seats + hold.updated; order: seats + hold + order; pay: seats + order
    assert events.publish_failures - failures == 7
    assert "publishing seats.changed to showtime-" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_health_is_degraded_and_names_the_channel_layer(redis_down, client):
    response = client.get("/api/v1/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["channel_layer"].startswith("error") and body["redis"].startswith("error")
