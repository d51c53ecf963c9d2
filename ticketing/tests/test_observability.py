"""Metrics (Prometheus text at /metrics), request ids and structured logs, health when a
dependency is down (api.md "Operations")."""

import json
import logging
import urllib.error
import urllib.request

import pytest

from conftest import client_for, seat_guids

pytestmark = pytest.mark.django_db


def test_metrics_endpoint_reports_booking_figures_and_request_latency(
    api, other_api, client, showtime
):
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    a, b = seat_guids(showtime, 2)
    api.post(url, {"seats": [a, b]}, format="json")
    other_api.post(url, {"seats": [a]}, format="json")  # a conflict
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    lines = set(text.splitlines())
    assert "seatline_holds_active 1.0" in lines
    assert "seatline_seats_held 2.0" in lines
    assert 'seatline_orders{status="pending"} 0.0' in lines
    assert 'seatline_prevented_duplicates_total{kind="seat_conflicts"} 1.0' in lines
    assert "seatline_websocket_connections 0.0" in lines
    assert "seatline_websocket_frames_dropped_total 0.0" in lines
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


def test_metrics_apply_the_lapse_rule(api, client, showtime, clock, settings):
    """A lapsed hold is not active and a lapsed order counts as expired (domain.md, invariant 4),
    before the cleanup records them."""
    a, b = seat_guids(showtime, 2)
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    hold = api.post(url, {"seats": [a]}, format="json").json()
    api.post(
        "/api/v1/orders/",
        {
            "hold": hold["id"],
            "payment_method": "card",
            "customer": {"name": "A", "email": "a@example.com"},
        },
        format="json",
    )
    clock.advance(settings.PAYMENT_WINDOW_SECONDS - 1)
    api.post(url, {"seats": [b]}, format="json")
    lines = set(client.get("/metrics").content.decode().splitlines())
    assert "seatline_holds_active 1.0" in lines
    assert 'seatline_orders{status="pending"} 1.0' in lines
    clock.advance(max(settings.PAYMENT_WINDOW_SECONDS, showtime.hold_ttl) + 1)
    lines = set(client.get("/metrics").content.decode().splitlines())
    assert "seatline_holds_active 0.0" in lines
    assert 'seatline_orders{status="pending"} 0.0' in lines
    assert 'seatline_orders{status="expired"} 1.0' in lines


def test_request_id_is_returned_and_logged_with_the_order_number(api, showtime, caplog):
    hold = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seat_guids(showtime, 1)}, format="json"
    ).json()
    with caplog.at_level(logging.INFO, logger="orders.services"):
        response = api.post(
            "/api/v1/orders/",
            {
                "hold": hold["id"],
                "payment_method": "card",
                "customer": {"name": "A", "email": "a@example.com"},
            },
            format="json",
            HTTP_X_REQUEST_ID="req-42",
        )
    assert response["X-Request-ID"] == "req-42"
    record = next(r for r in caplog.records if r.getMessage() == "order created")
    assert record.order_number == response.json()["number"]
    assert record.correlation_id == "req-42"


def test_logs_are_json_lines_with_request_id_and_order_number():
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    config = settings.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(config["format"], rename_fields=config["rename_fields"])
    record = logging.LogRecord("orders.services", logging.INFO, __file__, 1, "order paid", (), None)
    record.correlation_id, record.order_number = "req-7", "ORD-20261122-000001"
    line = json.loads(formatter.format(record))
    assert line["message"] == "order paid" and line["request_id"] == "req-7"
    assert line["order_number"] == "ORD-20261122-000001" and line["level"] == "INFO"


@pytest.mark.django_db(transaction=True)
def test_health_is_503_when_the_database_is_down(asgi_server, redis_url):
    """A real server process whose database is unreachable answers degraded, not 500."""
    url = asgi_server(
        env={
            "DATABASE_URL": "postgres://postgres@127.0.0.1:9/nothing",
            "DB_POOL_TIMEOUT_SECONDS": "1",
            "REDIS_URL": redis_url,
        },
        ready_status=503,
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(f"{url}/api/v1/health/", timeout=10)
    assert failure.value.code == 503
    body = json.loads(failure.value.read())
    assert body["status"] == "degraded" and body["channel_layer"] == "ok"
    assert body["database"].startswith("error")


def test_stats_count_flagged_payments_too(make_user):
    body = client_for(make_user(staff=True)).get("/api/v1/stats/").json()
    assert body["payments"] == {"needs_refund": 0}
