"""Every error code of the API answers in Thai (issue #17; docs/api.md "Languages").

The codes are taken from the code, not from a list kept by hand (:func:`codes_in_the_code`):

- every ``ApplicationError("<code>", ...)`` and ``error_body("<code>", ...)`` call of the project
  (an AST scan of its modules);
- the codes :mod:`core.errors` gives DRF's exceptions (``_DRF_CODES``);
- every code the OpenAPI schema documents for an error response (``core.schema.errors(...)`` and
  the common answers of ``core.schema.add_common_errors``).

:data:`PROVOKE` maps each code to the ways this test makes the API answer with it, for real,
through the test client (a code the application cannot be made to give in-process, such as
``busy`` or ``unavailable``, is provoked by making the code path underneath fail: a lost race, a
locked database). :func:`test_every_code_of_the_code_is_provoked` fails when a code appears in the
code without an entry here, so a new error cannot ship untranslated.

Each provocation is sent twice, with ``Accept-Language: en`` and ``Accept-Language: th``; both
answers must carry the same code and status, the Thai ``error.message`` must be Thai (characters
of the Thai block U+0E00–U+0E7F) and differ from the English one, ``Content-Language`` must name
the language, and where the answer has messages in ``details`` they must be Thai too.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import seat_guids

ROOT = Path(django_settings.BASE_DIR)
THAI = re.compile(r"[\u0e00-\u0e7f]")
# Modules that are not the application: tests, migrations, benchmarks, the virtualenv.
NOT_APPLICATION = {"tests", "migrations", "bench", ".venv", "staticfiles", "test-artifacts"}


# --- The codes, from the code --------------------------------------------------------------------


def _scanned_codes() -> dict[str, set[str]]:
    """``{code: {module path, ...}}`` of every ``ApplicationError(code, ...)`` and
    ``error_body(code, ...)`` call with a literal code in the application's modules."""
    found: dict[str, set[str]] = {}
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT)
        if NOT_APPLICATION & set(relative.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if (
                name in ("ApplicationError", "error_body")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.setdefault(first.value, set()).add(str(relative))
    return found


def _schema_codes(openapi: dict) -> set[str]:
    """The codes the OpenAPI document names in the descriptions of its error responses
    (``code (note), code, ...``: core/schema.py)."""
    codes: set[str] = set()
    for operations in openapi["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if int(status) < 400:
                    continue
                text = response.get("description", "")
                while True:  # drop the notes, nested parentheses included
                    text, n = re.subn(r" ?\([^()]*\)", "", text)
                    if not n:
                        break
                codes.update(c.strip() for c in text.split(",") if c.strip())
    return codes


def codes_in_the_code(openapi: dict) -> set[str]:
    from core.errors import _DRF_CODES

    return (
        set(_scanned_codes())
        | {code for code, _message in _DRF_CODES.values()}
        | _schema_codes(openapi)
    )


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


# --- How each code is provoked ---------------------------------------------------------------------


@dataclass
class Answer:
    """An answer of the API, from the test client or straight from an ASGI layer."""

    status: int
    body: dict
    headers: dict[str, str]


def answer(response) -> Answer:
    return Answer(response.status_code, json.loads(response.content), dict(response.headers))


@dataclass
class Case:
    provoke: Callable[[Any, str], Any]
    details: Callable[[dict], list[str]] | None  # the messages inside ``details`` to check


PROVOKE: dict[str, list[Case]] = {}


def case(code: str, details: Callable[[dict], list[str]] | None = None):
    """Register ``provoke(ctx, language) -> response`` as a way to get ``code``."""

    def register(provoke):
        PROVOKE.setdefault(code, []).append(Case(provoke, details))
        return provoke

    return register


class Ctx:
    """Users, showtimes and clients for the provocations; each call of a provocation makes its
    own state, so the English and the Thai run do not meet."""

    def __init__(self, make_user, make_showtime, settings, monkeypatch):
        self.make_user, self.make_showtime = make_user, make_showtime
        self.settings, self.monkeypatch = settings, monkeypatch

    def api(self, language: str, user=None, **headers) -> APIClient:
        client = APIClient(HTTP_ACCEPT_LANGUAGE=language, **headers)
        if user is not None:
            token = RefreshToken.for_user(user).access_token
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", **headers)
        return client

    def buyer(self, language: str, **headers) -> APIClient:
        return self.api(language, self.make_user(), **headers)

    def hold(self, client, showtime, seats):
        return client.post(
            f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json"
        )

    def order(self, client, showtime, seats, **extra):
        body = {
            "showtime": showtime.pk,
            "seats": seats,
            "customer": {"name": "Somchai", "email": "somchai@example.com"},
            "payment_method": "card",
        }
        return client.post("/api/v1/orders/", body, format="json", **extra)


def _messages(*keys: str) -> Callable[[dict], list[str]]:
    """The messages under ``details[key]`` for each key."""
    return lambda details: [m for key in keys for m in details[key]]


# validation_error


@case("validation_error", details=_messages("email", "password"))
def _missing_fields(ctx, language):
    return ctx.api(language).post("/api/v1/auth/register/", {"username": "x"}, format="json")


@case("validation_error", details=_messages("password"))
def _weak_password(ctx, language):
    body = {"username": "somchai", "email": "s@example.com", "password": "1234"}
    return ctx.api(language).post("/api/v1/auth/register/", body, format="json")


@case("validation_error", details=_messages("username"))
def _username_taken(ctx, language):
    user = ctx.make_user()
    body = {"username": user.username, "email": "s@example.com", "password": "Lovelace-1815!"}
    return ctx.api(language).post("/api/v1/auth/register/", body, format="json")


@case("validation_error", details=_messages("seats"))
def _seat_listed_twice(ctx, language):
    showtime = ctx.make_showtime()
    (a,) = seat_guids(showtime, 1)
    return ctx.hold(ctx.buyer(language), showtime, [a, a.upper()])


@case("validation_error", details=_messages("seats"))
def _neither_seats_nor_places(ctx, language):
    showtime = ctx.make_showtime()
    return ctx.buyer(language).post(f"/api/v1/showtimes/{showtime.pk}/holds/", {}, format="json")


@case("validation_error", details=_messages("seats"))
def _too_short_a_list(ctx, language):
    showtime = ctx.make_showtime()
    return ctx.hold(ctx.buyer(language), showtime, [])


@case("validation_error", details=_messages("non_field_errors"))
def _hold_and_seats(ctx, language):
    showtime = ctx.make_showtime()
    body = {
        "hold": str(uuid.uuid4()),
        "showtime": showtime.pk,
        "seats": seat_guids(showtime, 1),
        "customer": {"name": "Somchai", "email": "somchai@example.com"},
        "payment_method": "card",
    }
    return ctx.buyer(language).post("/api/v1/orders/", body, format="json")


@case("validation_error", details=_messages("hold"))
def _not_a_uuid(ctx, language):
    body = {
        "hold": "nope",
        "customer": {"name": "Somchai", "email": "somchai@example.com"},
        "payment_method": "card",
    }
    return ctx.buyer(language).post("/api/v1/orders/", body, format="json")


@case("validation_error", details=_messages("filter"))
def _bad_filter(ctx, language):
    return ctx.api(language).get("/api/v1/showtimes/?starts_before=tomorrow")


@case("validation_error", details=_messages("category"))
def _unknown_category(ctx, language):
    showtime = ctx.make_showtime()
    return ctx.buyer(language).post(
        f"/api/v1/showtimes/{showtime.pk}/holds/best/",
        {"quantity": 1, "category": "Balcony"},
        format="json",
    )


@case("validation_error", details=_messages("Idempotency-Key"))
def _long_idempotency_key(ctx, language):
    showtime = ctx.make_showtime()
    (a,) = seat_guids(showtime, 1)
    return ctx.order(ctx.buyer(language), showtime, [a], HTTP_IDEMPOTENCY_KEY="k" * 256)


# malformed_json, malformed_request, payload_too_large, unsupported_media_type, not_acceptable,
# method_not_allowed


@case("malformed_json")
def _broken_json(ctx, language):
    return ctx.api(language).post("/api/v1/auth/token/", "{", content_type="application/json")


@case("malformed_json")
def _deep_json(ctx, language):
    return ctx.api(language).post(
        "/api/v1/auth/token/", "[" * 40 + "]" * 40, content_type="application/json"
    )


@case("malformed_json")
def _broken_webhook_json(ctx, language):
    from orders.payments import sign

    ctx.settings.PAYMENT_WEBHOOK_SECRET = "s3cret"
    return ctx.api(language).post(
        "/api/v1/payments/webhook/",
        "{",
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(b"{", "s3cret"),
    )


@case("malformed_request")
def _nul_in_query(ctx, language):
    return Client(HTTP_ACCEPT_LANGUAGE=language).get("/api/v1/shows/?q=%00")


@case("payload_too_large")
def _declared_too_large(ctx, language):
    return ctx.api(language).post(
        "/api/v1/auth/token/",
        "{}",
        content_type="application/json",
        CONTENT_LENGTH=str(django_settings.API_MAX_BODY_BYTES + 1),
    )


@case("payload_too_large")
def _declared_too_large_at_the_asgi_layer(ctx, language):
    """The outermost ASGI layer answers before Django: the language comes from the scope."""
    from ticketing.bodylimit import BodyLimitMiddleware

    sent: list[dict] = []

    async def app(scope, receive, send):  # never reached
        raise AssertionError("the body limit let the request through")

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "path": "/api/v1/auth/token/",
        "query_string": b"",
        "headers": [
            (b"accept-language", language.encode()),
            (b"content-length", str(10**9).encode()),
        ],
    }
    asyncio.run(BodyLimitMiddleware(app)(scope, receive, send))
    headers = {k.decode().title(): v.decode() for k, v in sent[0]["headers"]}
    return Answer(sent[0]["status"], json.loads(sent[1]["body"]), headers)


@case("unsupported_media_type")
def _text_body(ctx, language):
    return ctx.api(language).post("/api/v1/auth/token/", "x", content_type="text/plain")


@case("not_acceptable")
def _wants_xml(ctx, language):
    return ctx.api(language).get("/api/v1/shows/", HTTP_ACCEPT="application/xml")


@case("method_not_allowed")
def _delete_the_token_endpoint(ctx, language):
    return ctx.api(language).delete("/api/v1/auth/token/")


# not_authenticated, token_invalid, permission_denied, rate_limited, signature_invalid


@case("not_authenticated")
def _no_credentials(ctx, language):
    return ctx.api(language).get("/api/v1/orders/")


@case("token_invalid")
def _forged_access_token(ctx, language):
    return ctx.api(language, HTTP_AUTHORIZATION="Bearer forged").get("/api/v1/orders/")


@case("token_invalid")
def _wrong_password(ctx, language):
    user = ctx.make_user()
    body = {"username": user.username, "password": "wrong"}
    return ctx.api(language).post("/api/v1/auth/token/", body, format="json")


@case("token_invalid")
def _forged_refresh_token(ctx, language):
    return ctx.api(language).post(
        "/api/v1/auth/token/refresh/", {"refresh": "forged"}, format="json"
    )


@case("token_invalid")
def _access_token_to_refresh(ctx, language):
    token = str(RefreshToken.for_user(ctx.make_user()).access_token)
    return ctx.api(language).post("/api/v1/auth/token/refresh/", {"refresh": token}, format="json")


@case("permission_denied")
def _not_staff(ctx, language):
    return ctx.buyer(language).post("/api/v1/checkin/", {"code": "x"}, format="json")


@case("permission_denied")
def _session_without_csrf_token(ctx, language):
    showtime = ctx.make_showtime()
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(ctx.make_user())
    return client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": seat_guids(showtime, 1)},
        content_type="application/json",
    )


_ADDRESSES = itertools.count(1)


@case("rate_limited")
def _too_many_sign_ins(ctx, language):
    ctx.settings.RATELIMIT_ENABLE = True
    ctx.settings.RATELIMIT_AUTH = "1/m"
    # A client address of its own (the limit's key), so no count of another run or test is met
    # and no cache needs clearing (the cache may be a shared Redis).
    client = ctx.api(language, REMOTE_ADDR=f"198.51.100.{next(_ADDRESSES)}")
    for _attempt in range(3):
        response = client.post("/api/v1/auth/token/", {"username": "x", "password": "y"})
        if response.status_code == 429:
            return response
    raise AssertionError("no 429")


@case("signature_invalid")
def _unsigned_webhook(ctx, language):
    return ctx.api(language).post("/api/v1/payments/webhook/", {}, format="json")


# not_found


@case("not_found")
def _unknown_route(ctx, language):
    return ctx.api(language).get("/api/v1/no-such-thing/")


@case("not_found")
def _unknown_hold(ctx, language):
    return ctx.buyer(language).get(f"/api/v1/holds/{uuid.uuid4()}/")


@case("not_found")
def _unknown_order(ctx, language):
    return ctx.buyer(language).post("/api/v1/orders/999999/pay/")


@case("not_found")
def _unknown_showtime(ctx, language):
    return ctx.buyer(language).post(
        "/api/v1/showtimes/999999/holds/", {"seats": [str(uuid.uuid4())]}, format="json"
    )


@case("not_found")
def _no_waiting_room(ctx, language):
    showtime = ctx.make_showtime()
    return ctx.buyer(language).post(f"/api/v1/showtimes/{showtime.pk}/queue/")


@case("not_found")
def _not_in_the_queue(ctx, language):
    showtime = ctx.make_showtime(queue_enabled=True)
    return ctx.buyer(language).get(f"/api/v1/showtimes/{showtime.pk}/queue/")


@case("queue_required")
def _hold_without_a_queue_pass(ctx, language):
    showtime = ctx.make_showtime(queue_enabled=True)
    client = ctx.buyer(language)
    client.post(f"/api/v1/showtimes/{showtime.pk}/queue/")
    return ctx.hold(client, showtime, seat_guids(showtime, 1))


@case("queue_required")
def _order_with_a_tampered_queue_pass(ctx, language):
    showtime = ctx.make_showtime(queue_enabled=True)
    client = ctx.buyer(language, HTTP_X_QUEUE_PASS="forged:pass")
    return ctx.order(client, showtime, seat_guids(showtime, 1))


@case("not_found")
def _unknown_order_number(ctx, language):
    from orders.payments import sign

    ctx.settings.PAYMENT_WEBHOOK_SECRET = "s3cret"
    body = json.dumps(
        {
            "event": "payment.succeeded",
            "payment_id": f"pay-{uuid.uuid4()}",
            "order_number": "NOPE",
            "amount": "1.00",
            "currency": "EUR",
        }
    ).encode()
    return ctx.api(language).post(
        "/api/v1/payments/webhook/",
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(body, "s3cret"),
    )


# Seats and holds


@case("seat_unavailable")
def _seat_taken(ctx, language):
    showtime = ctx.make_showtime()
    (a,) = seat_guids(showtime, 1)
    ctx.hold(ctx.buyer(language), showtime, [a])
    return ctx.hold(ctx.buyer(language), showtime, [a])


@case("seat_unavailable")
def _no_block_together(ctx, language):
    showtime = ctx.make_showtime(rows=2, seats_per_row=5, max_seats_per_order=10)
    return ctx.buyer(language).post(
        f"/api/v1/showtimes/{showtime.pk}/holds/best/", {"quantity": 6}, format="json"
    )


@case("orphan_seat")
def _seat_left_alone(ctx, language):
    showtime = ctx.make_showtime(forbid_single_seats=True)
    seats = seat_guids(showtime, 5)  # row A, seats 1–5
    return ctx.hold(ctx.buyer(language), showtime, [seats[1]])


@case("too_many_seats")
def _over_the_order_cap(ctx, language):
    showtime = ctx.make_showtime(max_seats_per_order=2)
    return ctx.hold(ctx.buyer(language), showtime, seat_guids(showtime, 3))


@case("buyer_limit")
def _too_many_unpaid_orders(ctx, language):
    ctx.settings.MAX_PENDING_ORDERS_PER_BUYER = 1
    showtime = ctx.make_showtime()
    a, b = seat_guids(showtime, 2)
    client = ctx.buyer(language)
    assert ctx.order(client, showtime, [a]).status_code == 201
    return ctx.order(client, showtime, [b])


@case("buyer_limit")
def _too_many_seats_for_one_buyer(ctx, language):
    showtime = ctx.make_showtime(max_seats_per_order=2, max_seats_per_buyer=2)
    a, b, c = seat_guids(showtime, 3)
    client = ctx.buyer(language)
    assert ctx.order(client, showtime, [a, b]).status_code == 201
    return ctx.hold(client, showtime, [c])


@case("sales_closed")
def _closed_showtime(ctx, language):
    showtime = ctx.make_showtime(status="closed")
    return ctx.hold(ctx.buyer(language), showtime, seat_guids(showtime, 1))


@case("unknown_seats")
def _no_such_seat(ctx, language):
    showtime = ctx.make_showtime()
    return ctx.hold(ctx.buyer(language), showtime, [str(uuid.uuid4())])


@case("unknown_seats")
def _release_a_seat_not_held(ctx, language):
    showtime = ctx.make_showtime()
    a, b = seat_guids(showtime, 2)
    client = ctx.buyer(language)
    hold_id = ctx.hold(client, showtime, [a]).json()["id"]
    return client.post(f"/api/v1/holds/{hold_id}/release/", {"seats": [b]}, format="json")


@case("hold_not_active")
def _release_a_released_hold(ctx, language):
    showtime = ctx.make_showtime()
    client = ctx.buyer(language)
    hold_id = ctx.hold(client, showtime, seat_guids(showtime, 1)).json()["id"]
    assert client.delete(f"/api/v1/holds/{hold_id}/").status_code == 204
    return client.post(f"/api/v1/holds/{hold_id}/release/", {}, format="json")


@case("extension_limit")
def _extend_past_the_cap(ctx, language):
    showtime = ctx.make_showtime(max_hold_extensions=0)
    client = ctx.buyer(language)
    hold_id = ctx.hold(client, showtime, seat_guids(showtime, 1)).json()["id"]
    return client.post(f"/api/v1/holds/{hold_id}/extend/", {}, format="json")


@case("extension_limit")
def _extend_past_max_hold_seconds(ctx, language):
    showtime = ctx.make_showtime(hold_ttl=300, max_hold_seconds=300)
    client = ctx.buyer(language)
    hold_id = ctx.hold(client, showtime, seat_guids(showtime, 1)).json()["id"]
    return client.post(f"/api/v1/holds/{hold_id}/extend/", {}, format="json")


@case("hold_not_active")
def _extend_a_released_hold(ctx, language):
    showtime = ctx.make_showtime()
    client = ctx.buyer(language)
    hold_id = ctx.hold(client, showtime, seat_guids(showtime, 1)).json()["id"]
    assert client.delete(f"/api/v1/holds/{hold_id}/").status_code == 204
    return client.post(f"/api/v1/holds/{hold_id}/extend/", {}, format="json")


@case("hold_not_active")
def _order_a_released_hold(ctx, language):
    showtime = ctx.make_showtime()
    client = ctx.buyer(language)
    hold_id = ctx.hold(client, showtime, seat_guids(showtime, 1)).json()["id"]
    assert client.delete(f"/api/v1/holds/{hold_id}/").status_code == 204
    body = {
        "hold": hold_id,
        "customer": {"name": "Somchai", "email": "somchai@example.com"},
        "payment_method": "card",
    }
    return client.post("/api/v1/orders/", body, format="json")


@case("hold_expired")
def _order_a_lapsed_hold(ctx, language):
    from seats.models import Hold

    showtime = ctx.make_showtime()
    client = ctx.buyer(language)
    hold_id = ctx.hold(client, showtime, seat_guids(showtime, 1)).json()["id"]
    Hold.objects.filter(pk=hold_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    body = {
        "hold": hold_id,
        "customer": {"name": "Somchai", "email": "somchai@example.com"},
        "payment_method": "card",
    }
    return client.post("/api/v1/orders/", body, format="json")


@case("busy")
def _lost_every_race(ctx, language):
    """Every attempt of the hold's transaction loses a race (as a deadlock or a serialization
    failure would make it): ``seats.locks.run_in_transaction`` answers 409 busy."""
    from seats.locks import RetryTransaction
    from seats.services import holds

    def lose(user_id):
        raise RetryTransaction

    ctx.monkeypatch.setattr(holds, "lock_buyer", lose)
    showtime = ctx.make_showtime()
    response = ctx.hold(ctx.buyer(language), showtime, seat_guids(showtime, 1))
    ctx.monkeypatch.undo()
    return response


# Orders


@case("idempotency_key_reuse")
def _key_with_another_body(ctx, language):
    showtime = ctx.make_showtime()
    a, b = seat_guids(showtime, 2)
    client = ctx.buyer(language)
    key = f"key-{uuid.uuid4()}"
    assert ctx.order(client, showtime, [a], HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    return ctx.order(client, showtime, [b], HTTP_IDEMPOTENCY_KEY=key)


@case("idempotency_in_progress")
def _key_held_by_a_running_request(ctx, language):
    """Another transaction holds the key (its row is not committed yet): the claim fails and no
    stored answer is found."""
    from orders.idempotency import KeyInTransaction, KeyTaken

    def taken(self):
        raise KeyTaken(self.key)

    ctx.monkeypatch.setattr(KeyInTransaction, "claim", taken)
    showtime = ctx.make_showtime()
    response = ctx.order(
        ctx.buyer(language), showtime, seat_guids(showtime, 1), HTTP_IDEMPOTENCY_KEY="busy-key"
    )
    ctx.monkeypatch.undo()
    return response


@case("order_not_cancellable")
def _cancel_a_paid_order(ctx, language):
    showtime = ctx.make_showtime()
    client = ctx.buyer(language)
    order = ctx.order(client, showtime, seat_guids(showtime, 1)).json()
    assert client.post(f"/api/v1/orders/{order['id']}/pay/").status_code == 200
    return client.post(f"/api/v1/orders/{order['id']}/cancel/")


@case("order_not_payable")
def _pay_a_cancelled_order(ctx, language):
    showtime = ctx.make_showtime()
    client = ctx.buyer(language)
    order = ctx.order(client, showtime, seat_guids(showtime, 1)).json()
    assert client.post(f"/api/v1/orders/{order['id']}/cancel/").status_code == 200
    return client.post(f"/api/v1/orders/{order['id']}/pay/")


@case("order_expired")
def _pay_past_the_deadline(ctx, language):
    from orders.models import Order

    showtime = ctx.make_showtime()
    client = ctx.buyer(language)
    order = ctx.order(client, showtime, seat_guids(showtime, 1)).json()
    Order.objects.filter(pk=order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    return client.post(f"/api/v1/orders/{order['id']}/pay/")


# 5xx


@case("unavailable")
def _database_locked(ctx, language):
    """The database cannot serve the request (SQLite's busy timeout; PostgreSQL's lock timeout
    or an exhausted pool look the same to ``ticketing.overload``)."""
    import sqlite3

    from seats.api import ShowViewSet

    def locked(self, request, *args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    ctx.monkeypatch.setattr(ShowViewSet, "list", locked)
    response = ctx.api(language).get("/api/v1/shows/")
    ctx.monkeypatch.undo()
    return response


@case("server_error")
def _a_bug(ctx, language):
    from seats.api import ShowViewSet

    def bug(self, request, *args, **kwargs):
        raise RuntimeError("a bug")

    ctx.monkeypatch.setattr(ShowViewSet, "list", bug)
    response = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language).get(
        "/api/v1/shows/"
    )
    ctx.monkeypatch.undo()
    return response


# --- The tests ----------------------------------------------------------------------------------


@pytest.fixture
def ctx(make_user, make_showtime, settings, monkeypatch) -> Ctx:
    return Ctx(make_user, make_showtime, settings, monkeypatch)


@pytest.mark.django_db
def test_every_code_of_the_code_is_provoked(openapi):
    """A code raised or documented anywhere in the code needs a way here to provoke it (and so a
    check of its Thai message); a code no longer in the code must leave this table too."""
    codes = codes_in_the_code(openapi)
    missing = sorted(codes - set(PROVOKE))
    assert not missing, f"error codes without a Thai check in PROVOKE: {missing}"
    stale = sorted(set(PROVOKE) - codes)
    assert not stale, f"PROVOKE names codes that are not in the code any more: {stale}"


def _is_thai(text: str) -> bool:
    return bool(THAI.search(text))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "way"),
    [(code, way) for code, ways in PROVOKE.items() for way in ways],
    ids=[f"{code}{way.provoke.__name__}" for code, ways in PROVOKE.items() for way in ways],
)
def test_every_error_code_answers_in_thai(code, way, ctx):
    english = way.provoke(ctx, "en")
    thai = way.provoke(ctx, "th")
    english = english if isinstance(english, Answer) else answer(english)
    thai = thai if isinstance(thai, Answer) else answer(thai)
    en, th = english.body["error"], thai.body["error"]
    assert (en["code"], th["code"]) == (code, code), (english.body, thai.body)
    assert english.status == thai.status, (english.status, thai.status)
    assert english.headers.get("Content-Language") == "en"
    assert thai.headers.get("Content-Language") == "th"
    assert not _is_thai(en["message"]), en
    assert _is_thai(th["message"]), th
    assert th["message"] != en["message"]
    if way.details is not None:
        en_details, th_details = way.details(en["details"]), way.details(th["details"])
        assert en_details and len(en_details) == len(th_details), (en, th)
        for en_message, th_message in zip(en_details, th_details, strict=True):
            assert not _is_thai(en_message), en
            assert _is_thai(th_message) and th_message != en_message, th


@pytest.mark.django_db
def test_the_schema_says_how_the_language_is_chosen_and_names_it(openapi):
    """Every operation takes ``Accept-Language`` and ``?lang=``; every answer, errors included,
    carries ``Content-Language`` (core.schema.add_language)."""
    assert "Content-Language" in openapi["info"]["description"]
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            named = {(p["in"], p["name"]) for p in operation["parameters"]}
            assert {("header", "Accept-Language"), ("query", "lang")} <= named, (method, path)
            for status, response in operation["responses"].items():
                header = response["headers"]["Content-Language"]
                assert header["required"] and header["schema"]["enum"] == ["en", "th"], (
                    method,
                    path,
                    status,
                )


@pytest.mark.django_db
def test_lang_and_the_language_cookie_choose_the_errors_language_too():
    """``?lang=th`` (which also sets the cookie, as the pages' switcher does) beats
    ``Accept-Language`` for error messages; the seat map's own API calls send the cookie."""
    client = APIClient()
    first = client.get("/api/v1/no-such-thing/?lang=th", HTTP_ACCEPT_LANGUAGE="en")
    later = client.get("/api/v1/orders/", HTTP_ACCEPT_LANGUAGE="en")  # the cookie
    for response in (first, later):
        assert response.headers["Content-Language"] == "th"
        assert _is_thai(response.json()["error"]["message"]), response.json()
