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
    Row(
        "declared-body-over-limit",
        "POST",
        HOLDS,
        413,
        "payload_too_large",
        {**BEARER, **JSON, "Content-Length": str(10**9)},
    ),
    Row(
        "streamed-body-over-limit",
        "POST",
        HOLDS,
        413,
        "payload_too_large",
        {**BEARER, **JSON},
        chunks=(b"[" + b" " * 16383,) * 5,
    ),
    Row(
        "streamed-body-over-limit-no-token",
        "POST",
        HOLDS,
        413,
        "payload_too_large",
        JSON,
        chunks=(b" " * 16384,) * 5,
    ),
    Row(
        "admin-declared-over-its-limit",
        "POST",
        "/admin/seats/seatingplan/add/",
        413,
        "payload_too_large",
        {"Content-Length": str(11 * 1024 * 1024)},
    ),
    Row(
        "page-declared-over-its-limit",
        "POST",
        "/accounts/login/",
        413,
        "payload_too_large",
        {"Content-Length": str(300 * 1024)},
    ),
    # 2. JSON nested too deep (RecursionError before)
    Row(
        "json-nested-20000",
        "POST",
        HOLDS,
        400,
        "malformed_json",
        {**BEARER, **JSON},
        b"[" * 20000 + b"]" * 20000,
    ),
    Row(
        "json-nested-33",
        "POST",
        HOLDS,
        400,
        "malformed_json",
        {**BEARER, **JSON},
        b'{"seats": ' + b"[" * 32 + b"]" * 32 + b"}",
    ),
    Row(
        "json-nested-unclosed",
        "POST",
        HOLDS,
        400,
        "malformed_json",
        {**BEARER, **JSON},
        b"{" * 30000,
    ),
    # 2. NUL bytes and undecodable bytes in the path and query
    Row("ticket-page-nul", "GET", "/tickets/%00/", 400),
    Row("ticket-qr-nul", "GET", "/tickets/%00/qr.svg", 400),
    Row("ticket-page-undecodable", "GET", "/tickets/%FF%FE/", 400),
    Row("ticket-page-not-a-code", "GET", "/tickets/a.b~c/", 404),
    Row("api-query-nul", "GET", "/api/v1/showtimes/?show=%00", 400, "malformed_request"),
    Row("api-path-nul", "GET", "/api/v1/shows/1%00/", 400, "malformed_request"),
    Row("api-query-undecodable", "GET", "/api/v1/shows/?x=%C3%28", 400, "malformed_request"),
    Row(
        "admin-changelist-filter-nul",
        "GET",
        "/admin/orders/order/?status__exact=%00",
        400,
        headers={"Cookie": "sessionid={staff_session}"},
    ),
    Row(
        "account-orders-page-nul",
        "GET",
        "/account/orders/?page=%00",
        400,
        headers={"Cookie": "sessionid={staff_session}"},
    ),
    Row(
        "account-orders-page-huge",
        "GET",
        "/account/orders/?page=" + "9" * 40,
        200,
        headers={"Cookie": "sessionid={staff_session}"},
    ),
    Row(
        "account-order-cancel-over-bigint",
        "POST",
        f"/account/orders/{2**63}/cancel/",
        404,
        headers={"Cookie": "sessionid={staff_session}"},
    ),
    # 2. cookies and headers with a NUL
    Row("session-cookie-nul-page", "GET", "/", 200, headers={"Cookie": f"sessionid={NUL_SESSION}"}),
    Row(
        "session-cookie-nul-api",
        "GET",
        "/api/v1/shows/",
        200,
        headers={"Cookie": f"sessionid={NUL_SESSION}"},
    ),
    Row(
        "session-cookie-nul-api-auth",
        "GET",
        "/api/v1/orders/",
        401,
        "not_authenticated",
        headers={"Cookie": f"sessionid={NUL_SESSION}"},
    ),
    Row(
        "session-cookie-percent-nul",
        "GET",
        "/api/v1/shows/",
        200,
        headers={"Cookie": "sessionid=%00%00%00%00%00%00%00%00%00%00"},
    ),
    Row(
        "other-cookie-nul",
        "GET",
        "/api/v1/shows/",
        400,
        "malformed_request",
        headers={"Cookie": 'csrftoken="\\000abc"'},
    ),
    Row(
        "header-nul",
        "GET",
        "/api/v1/shows/",
        400,
        "malformed_request",
        headers={"X-Request-ID": "a\x00b"},
    ),
    *[  # 3. wrong types in a hold's body
        Row(f"hold-seats-{name}", "POST", HOLDS, 400, "validation_error", {**BEARER, **JSON}, body)
        for name, body in [
            ("string", b'{"seats": "{seat}"}'),
            ("number", b'{"seats": 7}'),
            ("null", b'{"seats": null}'),
            ("object", b'{"seats": {"a": 1}}'),
            ("true", b'{"seats": true}'),
            ("list-of-objects", b'{"seats": [{}]}'),
            ("list-of-lists", b'{"seats": [["{seat}"]]}'),
            ("list-of-nulls", b'{"seats": [null]}'),
            ("empty-list", b'{"seats": []}'),
            ("empty-object", b"{}"),
            ("seat-id-too-long", b'{"seats": ["' + b"a" * 65 + b'"]}'),
            ("ga-string", b'{"ga": "x"}'),
            ("ga-quantity-0", b'{"ga": [{"zone": "Hall", "quantity": 0}]}'),
            ("ga-quantity-negative", b'{"ga": [{"zone": "Hall", "quantity": -5}]}'),
            ("ga-quantity-huge", b'{"ga": [{"zone": "Hall", "quantity": 1e308}]}'),
            ("ga-no-zone", b'{"ga": [{"quantity": 1}]}'),
        ]
    ],
    Row(
        "hold-body-a-list",
        "POST",
        HOLDS,
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'["{seat}"]',
    ),
    Row("hold-body-a-string", "POST", HOLDS, 400, "validation_error", {**BEARER, **JSON}, b'"x"'),
    Row("hold-body-null", "POST", HOLDS, 400, "validation_error", {**BEARER, **JSON}, b"null"),
    Row("hold-body-not-json", "POST", HOLDS, 400, "malformed_json", {**BEARER, **JSON}, b"seats=1"),
    Row(
        "hold-body-truncated-json",
        "POST",
        HOLDS,
        400,
        "malformed_json",
        {**BEARER, **JSON},
        b'{"seats": ["',
    ),
    Row(
        "hold-body-invalid-utf8",
        "POST",
        HOLDS,
        400,
        "malformed_json",
        {**BEARER, **JSON},
        b'{"seats": ["\xff\xfe"]}',
    ),
    Row(
        "hold-seats-list-of-numbers",
        "POST",
        HOLDS,
        400,
        "unknown_seats",
        {**BEARER, **JSON},
        b'{"seats": [1, 2]}',
    ),
    Row(
        "hold-body-text-plain",
        "POST",
        HOLDS,
        415,
        "unsupported_media_type",
        {**BEARER, "Content-Type": "text/plain"},
        b'{"seats": ["{seat}"]}',
    ),
    Row(
        "hold-body-xml",
        "POST",
        HOLDS,
        415,
        "unsupported_media_type",
        {**BEARER, "Content-Type": "application/xml"},
        b"<seats/>",
    ),
    # 3. huge arrays and big numbers
    Row(
        "hold-10000-seats",
        "POST",
        HOLDS,
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"seats": [' + b",".join([b'"x"'] * 10000) + b"]}",
    ),
    Row(
        "hold-200-unknown-seats",
        "POST",
        HOLDS,
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"seats": [' + b",".join(b'"%032x"' % i for i in range(200)) + b"]}",
    ),
    Row(
        "best-quantity-huge",
        "POST",
        HOLDS + "best/",
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"quantity": 99999999999999999999}',
    ),
    Row(
        "best-quantity-zero",
        "POST",
        HOLDS + "best/",
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"quantity": 0}',
    ),
    Row(
        "best-quantity-string",
        "POST",
        HOLDS + "best/",
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"quantity": "two"}',
    ),
    Row(
        "best-quantity-float",
        "POST",
        HOLDS + "best/",
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"quantity": 1.5}',
    ),
    Row(
        "best-quantity-nan",
        "POST",
        HOLDS + "best/",
        400,
        "malformed_json",
        {**BEARER, **JSON},
        b'{"quantity": NaN}',
    ),
    Row(
        "best-unknown-category",
        "POST",
        HOLDS + "best/",
        400,
        "validation_error",
        {**BEARER, **JSON},
        rb'{"quantity": 1, "category": "\u0000"}',
    ),
    # 3. unicode and NUL inside JSON strings
    Row(
        "hold-seat-id-emoji",
        "POST",
        HOLDS,
        400,
        "unknown_seats",
        {**BEARER, **JSON},
        '{"seats": ["🎫"]}'.encode(),
    ),
    Row(
        "hold-seat-id-lone-surrogate",
        "POST",
        HOLDS,
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"seats": ["\\ud800"]}',
    ),
    Row(
        "hold-seat-id-nul",
        "POST",
        HOLDS,
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"seats": ["\\u0000"]}',
    ),
    Row(
        "hold-seat-id-rtl",
        "POST",
        HOLDS,
        400,
        "unknown_seats",
        {**BEARER, **JSON},
        '{"seats": ["\u202e{seat}"]}'.encode(),
    ),
    Row(
        "hold-seat-id-thai",
        "POST",
        HOLDS,
        400,
        "unknown_seats",
        {**BEARER, **JSON},
        '{"seats": ["ที่นั่ง"]}'.encode(),
    ),
    # 3. ids of other showtimes, unknown and odd ids
    Row(
        "hold-seat-of-another-showtime",
        "POST",
        HOLDS,
        400,
        "unknown_seats",
        {**BEARER, **JSON},
        b'{"seats": ["{other_seat}"]}',
    ),
    Row(
        "hold-unknown-showtime",
        "POST",
        "/api/v1/showtimes/999999/holds/",
        404,
        "not_found",
        {**BEARER, **JSON},
        b'{"seats": ["{seat}"]}',
    ),
    Row(
        "hold-huge-showtime-id",
        "POST",
        "/api/v1/showtimes/99999999999999999999999/holds/",
        404,
        "not_found",
        {**BEARER, **JSON},
        b'{"seats": ["{seat}"]}',
    ),
    Row(
        "hold-negative-showtime-id",
        "POST",
        "/api/v1/showtimes/-1/holds/",
        404,
        "not_found",
        {**BEARER, **JSON},
        b'{"seats": ["{seat}"]}',
    ),
    Row("showtime-id-letters", "GET", "/api/v1/showtimes/abc/", 404, "not_found"),
    Row("showtime-id-huge", "GET", "/api/v1/showtimes/99999999999999999999999/", 404, "not_found"),
    Row(
        "showtime-seats-id-huge",
        "GET",
        "/api/v1/showtimes/99999999999999999999999/seats/",
        404,
        "not_found",
    ),
    Row("show-id-huge", "GET", "/api/v1/shows/99999999999999999999999/", 404, "not_found"),
    Row("hold-id-not-a-uuid", "GET", "/api/v1/holds/not-a-uuid/", 404, "not_found", BEARER),
    Row(
        "hold-id-unknown",
        "GET",
        "/api/v1/holds/00000000-0000-4000-8000-000000000000/",
        404,
        "not_found",
        BEARER,
    ),
    Row("hold-id-of-another-buyer", "GET", "/api/v1/holds/{other_hold}/", 404, "not_found", BEARER),
    Row(
        "release-hold-of-another-buyer",
        "DELETE",
        "/api/v1/holds/{other_hold}/",
        404,
        "not_found",
        BEARER,
    ),
    Row(
        "release-seats-of-another-showtime",
        "POST",
        "/api/v1/holds/{hold}/release/",
        400,
        "unknown_seats",
        {**BEARER, **JSON},
        b'{"seats": ["{other_seat}"]}',
    ),
    Row(
        "order-id-huge", "GET", "/api/v1/orders/99999999999999999999999/", 404, "not_found", BEARER
    ),
    Row("order-id-letters", "GET", "/api/v1/orders/abc/", 404, "not_found", BEARER),
    Row("pay-unknown-order", "POST", "/api/v1/orders/999999/pay/", 404, "not_found", BEARER),
    Row("cancel-unknown-order", "POST", "/api/v1/orders/999999/cancel/", 404, "not_found", BEARER),
    Row("tickets-unknown-order", "GET", "/api/v1/orders/999999/tickets/", 404, "not_found", BEARER),
    # 3. orders: wrong types, other buyers' holds, keys
    Row(
        "order-hold-not-a-uuid",
        "POST",
        "/api/v1/orders/",
        400,
        "validation_error",
        {**BEARER, **JSON, "Idempotency-Key": "k1"},
        b'{"hold": "x", "payment_method": "card", "customer": {"name": "A", "email": "a@b.co"}}',
    ),
    Row(
        "order-hold-of-another-buyer",
        "POST",
        "/api/v1/orders/",
        404,
        "not_found",
        {**BEARER, **JSON, "Idempotency-Key": "k2"},
        b'{"hold": "{other_hold}", "payment_method": "card", '
        b'"customer": {"name": "A", "email": "a@b.co"}}',
    ),
    Row(
        "order-customer-a-string",
        "POST",
        "/api/v1/orders/",
        400,
        "validation_error",
        {**BEARER, **JSON, "Idempotency-Key": "k3"},
        b'{"hold": "{hold}", "payment_method": "card", "customer": "me"}',
    ),
    Row(
        "order-email-invalid",
        "POST",
        "/api/v1/orders/",
        400,
        "validation_error",
        {**BEARER, **JSON, "Idempotency-Key": "k4"},
        b'{"hold": "{hold}", "payment_method": "card", "customer": {"name": "A", "email": "no"}}',
    ),
    Row(
        "order-name-too-long",
        "POST",
        "/api/v1/orders/",
        400,
        "validation_error",
        {**BEARER, **JSON, "Idempotency-Key": "k5"},
        b'{"hold": "{hold}", "payment_method": "card", "customer": {"name": "'
        + b"A" * 5000
        + b'", "email": "a@b.co"}}',
    ),
    Row(
        "order-key-too-long",
        "POST",
        "/api/v1/orders/",
        400,
        "validation_error",
        {**BEARER, **JSON, "Idempotency-Key": "k" * 300},
        b'{"hold": "{hold}", "payment_method": "card", '
        b'"customer": {"name": "A", "email": "a@b.co"}}',
    ),
    Row(
        "order-seats-of-another-showtime",
        "POST",
        "/api/v1/orders/",
        400,
        "unknown_seats",
        {**BEARER, **JSON, "Idempotency-Key": "k6"},
        b'{"showtime": {showtime}, "seats": ["{other_seat}"], "payment_method": "card", '
        b'"customer": {"name": "A", "email": "a@b.co"}}',
    ),
    Row(
        "order-hold-and-seats",
        "POST",
        "/api/v1/orders/",
        400,
        "validation_error",
        {**BEARER, **JSON, "Idempotency-Key": "k7"},
        b'{"hold": "{hold}", "showtime": {showtime}, "seats": ["{seat}"], '
        b'"payment_method": "card", "customer": {"name": "A", "email": "a@b.co"}}',
    ),
    # 3. authentication
    Row(
        "token-garbage",
        "GET",
        "/api/v1/orders/",
        401,
        "token_invalid",
        {"Authorization": "Bearer garbage"},
    ),
    Row("token-empty", "GET", "/api/v1/orders/", 401, "token_invalid", {"Authorization": "Bearer"}),
    Row(
        "token-alg-none",
        "GET",
        "/api/v1/orders/",
        401,
        "token_invalid",
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJ1c2VyX2lkIjoxfQ."},
    ),
    Row(
        "token-huge",
        "GET",
        "/api/v1/orders/",
        401,
        "token_invalid",
        {"Authorization": "Bearer " + "a" * 8000},
    ),
    Row(
        "token-basic-scheme",
        "GET",
        "/api/v1/orders/",
        401,
        "not_authenticated",
        {"Authorization": "Basic YTpi"},
    ),
    Row(
        "hold-without-token",
        "POST",
        HOLDS,
        401,
        "not_authenticated",
        JSON,
        b'{"seats": ["{seat}"]}',
    ),
    Row(
        "login-wrong-types",
        "POST",
        "/api/v1/auth/token/",
        400,
        "validation_error",
        JSON,
        b'{"username": ["a"], "password": {"b": 1}}',
    ),
    Row(
        "register-username-nul",
        "POST",
        "/api/v1/auth/register/",
        400,
        "validation_error",
        JSON,
        b'{"username": "a\\u0000b", "password": "Secret-pass-123", "email": "x@y.co"}',
    ),
    Row(
        "refresh-garbage",
        "POST",
        "/api/v1/auth/token/refresh/",
        401,
        "token_invalid",
        JSON,
        b'{"refresh": "garbage"}',
    ),
    Row(
        "checkin-as-buyer",
        "POST",
        "/api/v1/checkin/",
        403,
        "permission_denied",
        {**BEARER, **JSON},
        b'{"code": "x"}',
    ),
    Row("stats-as-buyer", "GET", "/api/v1/stats/", 403, "permission_denied", BEARER),
    Row(
        "sales-as-buyer",
        "GET",
        "/api/v1/showtimes/{showtime}/sales/",
        403,
        "permission_denied",
        BEARER,
    ),
    Row(
        "webhook-unsigned",
        "POST",
        "/api/v1/payments/webhook/",
        401,
        "signature_invalid",
        JSON,
        b"{}",
    ),
    Row(
        "webhook-bad-signature",
        "POST",
        "/api/v1/payments/webhook/",
        401,
        "signature_invalid",
        {**JSON, "X-Signature": "sha256=" + "0" * 64},
        b'{"type": "payment.succeeded"}',
    ),
    # 3. query strings
    Row(
        "showtimes-bad-date",
        "GET",
        "/api/v1/showtimes/?starts_after=yesterday",
        400,
        "validation_error",
    ),
    Row("showtimes-offset-negative", "GET", "/api/v1/showtimes/?offset=-5", 200),
    Row("showtimes-limit-huge", "GET", "/api/v1/showtimes/?limit=99999999999999999999", 200),
    Row("shows-query-repeated", "GET", "/api/v1/shows/?" + "a=1&" * 500, 200),
    Row("shows-query-unicode", "GET", "/api/v1/shows/?q=%E0%B8%97%E0%B8%B5%E0%B9%88", 200),
    # 3. duplicates in any spelling (a seat named twice is refused, not counted once)
    Row(
        "hold-duplicate-seat",
        "POST",
        HOLDS,
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"seats": ["{seat}", "{seat}"]}',
    ),
    Row(
        "hold-duplicate-seat-upper-case",
        "POST",
        HOLDS,
        400,
        "validation_error",
        {**BEARER, **JSON},
        b'{"seats": ["{seat}", "{seat_upper}"]}',
    ),
    Row(
        "order-duplicate-seat-upper-case",
        "POST",
        "/api/v1/orders/",
        400,
        "validation_error",
        {**BEARER, **JSON, "Idempotency-Key": "k8"},
        b'{"showtime": {showtime}, "seats": ["{seat}", "{seat_upper}"], '
        b'"payment_method": "card", "customer": {"name": "A", "email": "a@b.co"}}',
    ),
    # 4. chunked floods and bad cookies on other routes
    Row(
        "streamed-order-over-limit",
        "POST",
        "/api/v1/orders/",
        413,
        "payload_too_large",
        {**BEARER, **JSON},
        chunks=(b" " * 32768,) * 4,
    ),
    Row(
        "streamed-register-over-limit",
        "POST",
        "/api/v1/auth/register/",
        413,
        "payload_too_large",
        JSON,
        chunks=(b" " * 32768,) * 4,
    ),
    Row(
        "streamed-webhook-over-limit",
        "POST",
        "/api/v1/payments/webhook/",
        413,
        "payload_too_large",
        JSON,
        chunks=(b" " * 32768,) * 4,
    ),
    Row(
        "declared-login-over-limit",
        "POST",
        "/api/v1/auth/token/",
        413,
        "payload_too_large",
        {**JSON, "Content-Length": str(2**40)},
    ),
    Row(
        "session-cookie-huge",
        "GET",
        "/api/v1/shows/",
        200,
        headers={"Cookie": "sessionid=" + "a" * 4000},
    ),
    Row(
        "session-cookie-unicode",
        "GET",
        "/",
        200,
        headers={"Cookie": "sessionid=" + "ที่นั่ง".encode().decode("latin-1")},
    ),
    Row(
        "cookie-header-garbage",
        "GET",
        "/api/v1/shows/",
        200,
        headers={"Cookie": ";;;===;;sessionid"},
    ),
    Row(
        "csrf-cookie-nul-on-post",
        "POST",
        "/accounts/login/",
        400,
        None,
        {"Cookie": 'csrftoken="\\000"'},
        b"username=a&password=b",
    ),
]


@pytest.fixture
def placeholders(transactional_db, make_showtime, buyer, other_buyer, staff):
    from rest_framework_simplejwt.tokens import RefreshToken

    from conftest import seat_guids
    from seats.services import hold_create

    client = Client()
    client.force_login(staff)
    # The other showtime's plan is bigger: its last seat's guid exists only there.
    showtime, other = make_showtime(), make_showtime(rows=3, seats_per_row=7)
    seat, second = seat_guids(showtime, 2)
    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=[second]).hold
    other_hold = hold_create(
        user=other_buyer, showtime_id=other.pk, seat_ids=seat_guids(other, 1)
    ).hold
    return {
        "showtime": showtime.pk,
        "seat": seat,
        "seat_upper": seat.upper(),
        "other_seat": seat_guids(other)[-1],
        "hold": hold.pk,
        "other_hold": other_hold.pk,
        "token": str(RefreshToken.for_user(buyer).access_token),
        "staff_session": client.cookies["sessionid"].value,
    }


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile_request_gets_its_documented_answer(row: Row, placeholders):
    def fill(text):
        for name, value in placeholders.items():
            text = (
                text.replace(f"{{{name}}}", str(value))
                if isinstance(text, str)
                else text.replace(f"{{{name}}}".encode(), str(value).encode())
            )
        return text

    answer = asgi_request(
        row.method,
        fill(row.path),
        {k: fill(v) for k, v in row.headers.items()},
        body=fill(row.body),
        chunks=list(row.chunks) if row.chunks else None,
    )
    assert answer.status < 500, answer.body[:500]
    assert answer.status == row.status, answer.body[:500]
    assert answer.error_code == row.code, answer.body[:500]


# --- beyond the table ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_json_nested_up_to_the_cap_is_parsed(api, showtime):
    """Depth 32 is still JSON the API reads (here: a validation error, not malformed_json)."""
    body = '{"seats": ' + "[" * 31 + "]" * 31 + "}"
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_nesting_depth_counts_levels_without_recursion():
    from core.parsers import nesting_depth

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
    for bad in (
        "/tickets/\x00/",
        "/tickets/\x00/qr.svg",
        "/tickets/a b/",
        "/tickets/" + "a" * 65 + "/",
    ):
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
        application,
        f"/ws/showtimes/{showtime.pk}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"sessionid={NUL_SESSION}".encode()),
        ],
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    frame = json.loads(await communicator.receive_from(timeout=10))
    assert frame["type"] == "snapshot"
    await communicator.disconnect()


@pytest.mark.django_db
def test_rows_hit_real_routes(placeholders):
    """Keeps the table honest: the routes its rows aim at exist (a typo would pass as a 404)."""
    from django.urls import resolve

    for path in (
        HOLDS.format(**placeholders),
        "/admin/orders/order/",
        "/admin/seats/seatingplan/add/",
        "/accounts/login/",
        "/api/v1/shows/",
        "/api/v1/orders/",
    ):
        resolve(path)
