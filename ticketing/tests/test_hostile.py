"""Hostile requests (issue #14): each is answered with its documented status, never a 5xx.

:data:`ROWS` is the table: add a :class:`Row` for a new case. Every row goes through the whole
HTTP stack the servers run (``ticketing.asgi.application``: the body limit, Django's middleware,
the views), in-process, on the test database (SQLite or PostgreSQL: a NUL byte reached PostgreSQL
as a ``DataError`` before). Placeholders in paths and header values: ``{showtime}`` (a showtime's
id), ``{token}`` (a buyer's access JWT), ``{staff_session}`` (a staff member's session key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from django.test import Client

from ticketing.tests.asgi import asgi_request

NUL_SESSION = '"' + "\\000" * 32 + '"'  # Django's cookie parser unquotes it to 32 NUL bytes


@dataclass(frozen=True)
class Row:
    """One hostile request and its documented answer.

    ``body`` is sent in one message, or ``chunks`` in several (a streamed body, no
    ``Content-Length``). ``code`` is the api.md ``error.code`` expected (None: not a JSON error
    body, e.g. a plain 400 page, or a success)."""

    id: str
    method: str
    path: str
    status: int
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: tuple[bytes, ...] | None = None


BEARER = {"Authorization": "Bearer {token}"}
JSON = {"Content-Type": "application/json"}
HOLDS = "/api/v1/showtimes/{showtime}/holds/"

ROWS = [
    # 1. bodies over the limit: declared, and streamed without a Content-Length
    Row("declared-body-over-limit", "POST", HOLDS, 413, "payload_too_large",
        {**BEARER, **JSON, "Content-Length": str(10**9)}),
    Row("streamed-body-over-limit", "POST", HOLDS, 413, "payload_too_large",
        {**BEARER, **JSON}, chunks=(b"[" + b" " * 16383,) * 5),
    Row("streamed-body-over-limit-no-token", "POST", HOLDS, 413, "payload_too_large", JSON,
        chunks=(b" " * 16384,) * 5),
    Row("admin-declared-over-its-limit", "POST", "/admin/seats/seatingplan/add/", 413,
        "payload_too_large", {"Content-Length": str(11 * 1024 * 1024)}),
    Row("page-declared-over-its-limit", "POST", "/accounts/login/", 413, "payload_too_large",
        {"Content-Length": str(300 * 1024)}),
    # 2. JSON nested too deep (RecursionError before)
    Row("json-nested-20000", "POST", HOLDS, 400, "malformed_json", {**BEARER, **JSON},
        b"[" * 20000 + b"]" * 20000),
    Row("json-nested-33", "POST", HOLDS, 400, "malformed_json", {**BEARER, **JSON},
        b'{"seats": ' + b"[" * 32 + b"]" * 32 + b"}"),
    Row("json-nested-unclosed", "POST", HOLDS, 400, "malformed_json", {**BEARER, **JSON},
        b"{" * 30000),
    # 2. NUL bytes and undecodable bytes in the path and query
    Row("ticket-page-nul", "GET", "/tickets/%00/", 400),
    Row("ticket-qr-nul", "GET", "/tickets/%00/qr.svg", 400),
    Row("ticket-page-undecodable", "GET", "/tickets/%FF%FE/", 400),
    Row("ticket-page-not-a-code", "GET", "/tickets/a.b~c/", 404),
    Row("api-query-nul", "GET", "/api/v1/showtimes/?show=%00", 400, "malformed_request"),
    Row("api-path-nul", "GET", "/api/v1/shows/1%00/", 400, "malformed_request"),
    Row("api-query-undecodable", "GET", "/api/v1/shows/?x=%C3%28", 400, "malformed_request"),
    Row("admin-changelist-filter-nul", "GET", "/admin/orders/order/?status__exact=%00", 400,
        headers={"Cookie": "sessionid={staff_session}"}),
    # 2. cookies and headers with a NUL
    Row("session-cookie-nul-page", "GET", "/", 200, headers={"Cookie": f"sessionid={NUL_SESSION}"}),
    Row("session-cookie-nul-api", "GET", "/api/v1/shows/", 200,
        headers={"Cookie": f"sessionid={NUL_SESSION}"}),
    Row("session-cookie-nul-api-auth", "GET", "/api/v1/orders/", 401, "not_authenticated",
        headers={"Cookie": f"sessionid={NUL_SESSION}"}),
    Row("session-cookie-percent-nul", "GET", "/api/v1/shows/", 200,
        headers={"Cookie": "sessionid=%00%00%00%00%00%00%00%00%00%00"}),
    Row("other-cookie-nul", "GET", "/api/v1/shows/", 400, "malformed_request",
        headers={"Cookie": 'csrftoken="\\000abc"'}),
    Row("header-nul", "GET", "/api/v1/shows/", 400, "malformed_request",
        headers={"X-Request-ID": "a\x00b"}),
]


@pytest.fixture
def placeholders(transactional_db, make_showtime, buyer, staff):
    from rest_framework_simplejwt.tokens import RefreshToken

    client = Client()
    client.force_login(staff)
    return {"showtime": make_showtime().pk,
            "token": str(RefreshToken.for_user(buyer).access_token),
            "staff_session": client.cookies["sessionid"].value}


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile_request_gets_its_documented_answer(row: Row, placeholders):
    answer = asgi_request(
        row.method, row.path.format(**placeholders),
        {k: v.format(**placeholders) for k, v in row.headers.items()},
        body=row.body, chunks=list(row.chunks) if row.chunks else None)
    assert answer.status < 500, answer.body[:500]
    assert answer.status == row.status, answer.body[:500]
    assert answer.error_code == row.code, answer.body[:500]


# --- beyond the table ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_json_nested_up_to_the_cap_is_parsed(api, showtime):
    """Depth 32 is still JSON the API reads (here: a validation error, not malformed_json)."""
    body = '{"seats": ' + "[" * 31 + "]" * 31 + "}"
    response = api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", body,
                        content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_nesting_depth_counts_levels_without_recursion():
    from ticketing.parsers import nesting_depth

    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep) == 100_001
    assert nesting_depth(1) == 0 and nesting_depth({}) == 1
    assert nesting_depth({"a": [1, {"b": []}], "c": 2}) == 4


@pytest.mark.django_db
def test_ticket_codes_route_only_in_their_alphabet(buyer, showtime):
    """The URL converter (a NUL never reaches the database, even past the middleware)."""
    from django.urls import Resolver404, resolve

    assert resolve("/tickets/Ab-_09/").url_name == "ticket-page"
    assert resolve("/tickets/Ab-_09/qr.svg").url_name == "ticket-qr"
    for bad in ("/tickets/\x00/", "/tickets/\x00/qr.svg", "/tickets/a b/", "/tickets/" + "a" * 65 + "/"):
        with pytest.raises(Resolver404):
            resolve(bad)


@pytest.mark.django_db
def test_a_malformed_session_key_is_no_session(staff_client):
    """Contract of ticketing/sessions.py with Django's session base class: the key check it
    overrides is the one the constructor applies; real keys still sign in."""
    from django.contrib.sessions.backends.base import SessionBase

    from ticketing.sessions import SessionStore

    assert "_validate_session_key" in vars(SessionBase)
    assert SessionStore(session_key="\x00" * 32).session_key is None
    assert SessionStore(session_key="%00" * 11).session_key is None
    real = staff_client.cookies["sessionid"].value
    store = SessionStore(session_key=real)
    assert store.session_key == real and store.get("_auth_user_id")


@pytest.mark.django_db(transaction=True)
async def test_websocket_handshake_with_a_nul_session_cookie_is_anonymous(showtime):
    """The seat map socket of a browser with a broken session cookie opens, signed out."""
    from channels.testing import WebsocketCommunicator

    from ticketing.asgi import application

    communicator = WebsocketCommunicator(
        application, f"/ws/showtimes/{showtime.pk}/",
        headers=[(b"origin", b"http://testserver"), (b"host", b"testserver"),
                 (b"cookie", f"sessionid={NUL_SESSION}".encode())])
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    frame = json.loads(await communicator.receive_from(timeout=10))
    assert frame["type"] == "snapshot"
    await communicator.disconnect()


@pytest.mark.django_db
def test_rows_hit_real_routes(placeholders):
    """Keeps the table honest: the routes its rows aim at exist (a typo would pass as a 404)."""
    from django.urls import resolve

    for path in (HOLDS.format(**placeholders), "/admin/orders/order/", "/admin/seats/seatingplan/add/",
                 "/accounts/login/", "/api/v1/shows/", "/api/v1/orders/"):
        resolve(path)
