"""HTTP compression (docs/api.md "Compression"): Django's GZipMiddleware gzips API answers and
pages for a client that accepts gzip, and only then; static files stay WhiteNoise's own."""

import gzip
import json

import pytest

from ticketing.tests.asgi import asgi_request

pytestmark = pytest.mark.django_db


def test_api_answers_are_gzipped_when_the_client_accepts_gzip(client, showtime):
    url = f"/api/v1/showtimes/{showtime.pk}/seats/"
    zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped.status_code == 200
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert int(zipped["Content-Length"]) == len(zipped.content)
    body = json.loads(gzip.decompress(zipped.content))
    assert len(body["seats"]) == 10

    plain = client.get(url)
    assert not plain.has_header("Content-Encoding")
    assert len(plain.json()["seats"]) == 10
    assert len(zipped.content) < len(plain.content) / 3


def test_identity_only_and_error_bodies(client):
    plain = client.get("/api/v1/showtimes/", HTTP_ACCEPT_ENCODING="identity")
    assert not plain.has_header("Content-Encoding")
    missing = client.get("/api/v1/showtimes/999999/", HTTP_ACCEPT_ENCODING="gzip")
    assert missing.status_code == 404  # a short body (< 200 bytes) is sent as it is
    assert missing.json()["error"]["code"] == "not_found"


def test_pages_and_metrics_are_gzipped_too(client, showtime):
    page = client.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert page.status_code == 200 and page["Content-Encoding"] == "gzip"
    assert b"<html" in gzip.decompress(page.content)
    metrics = client.get("/metrics", HTTP_ACCEPT_ENCODING="gzip")  # Prometheus asks for gzip
    assert metrics.status_code == 200 and metrics["Content-Encoding"] == "gzip"
    assert b"# TYPE" in gzip.decompress(metrics.content)


@pytest.mark.django_db(transaction=True)  # the handler reads on its own thread
def test_through_the_asgi_handler(showtime):
    """The project's ASGI handler (ticketing.handlers) sends the compressed body whole."""
    answer = asgi_request(
        "GET", f"/api/v1/showtimes/{showtime.pk}/seats/", headers={"Accept-Encoding": "gzip"}
    )
    assert answer.status == 200 and answer.headers["content-encoding"] == "gzip"
    assert int(answer.headers["content-length"]) == len(answer.body)
    assert len(json.loads(gzip.decompress(answer.body))["seats"]) == 10
