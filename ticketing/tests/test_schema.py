"""The OpenAPI schema (``/api/schema/``) against the running application.

- the schema lists every path of api.md (and every API route of the URLconf), each error response
  is the api.md error body, and the docs page loads;
- schemathesis generates requests from the schema and sends them to the Django app in-process
  (WSGI, real transactions, the demo data, a real JWT): no answer may be a 5xx, and every answer
  must match the schema (status code, content type, headers, body);
- the happy paths (hold → extend → release → order → replay → pay → tickets, order → cancel) and
  the main conflicts, which random data rarely reaches, are validated against the schema too.

The generated run is deterministic (20 examples per operation). For a deeper local bug hunt:
``SCHEMA_TEST_MAX_EXAMPLES=200 SCHEMA_TEST_RANDOM=1 .venv/bin/python -m pytest -s
ticketing/tests/test_schema.py`` (``-s`` prints the figures: operations, requests, statuses).
"""

from __future__ import annotations

import io
import os
import re
import time
import uuid
from collections import Counter
from datetime import timedelta
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import pytest
import schemathesis
from django.core.management import call_command
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    object_level_authorization,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

# The paths of shared/spec/api.md under /api/v1/ that the schema must describe.
API_PATHS = [
    "auth/register/",
    "auth/token/",
    "auth/token/refresh/",
    "shows/",
    "shows/{id}/",
    "showtimes/",
    "showtimes/{id}/",
    "showtimes/{id}/seats/",
    "showtimes/{showtime_id}/holds/",
    "holds/",
    "holds/{id}/",
    "holds/{id}/release/",
    "holds/{id}/extend/",
    "orders/",
    "orders/{id}/",
    "orders/{id}/cancel/",
    "orders/{id}/pay/",
    "orders/{id}/tickets/",
]

# The checks every answer must pass: no 5xx; status code, content type and body as documented.
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# ... plus schemathesis's other default checks that hold for this API. Left out:
# ``negative_data_rejection`` (the API is lenient on purpose: DRF's pagination ignores a malformed
# ``limit``/``offset``, and an empty filter such as ``?starts_before=`` is no filter) and
# ``positive_data_acceptance`` (business rules the schema cannot state answer 400: unknown seat
# ids, a weak password, "a hold or a showtime with seats").
CHECKS = [
    *CONFORMANCE,
    response_headers_conformance,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    use_after_free,
    ensure_resource_availability,
    ignored_auth,
    object_level_authorization,
]

MAX_EXAMPLES = int(os.environ.get("SCHEMA_TEST_MAX_EXAMPLES", "20"))


def bearer(user) -> dict[str, str]:
    from rest_framework_simplejwt.tokens import RefreshToken

    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


# --- The schema and the docs ------------------------------------------------------------------------


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_schema_lists_every_api_path(openapi):
    paths = set(openapi["paths"])
    missing = [p for p in API_PATHS if f"/api/v1/{p}" not in paths]
    assert not missing, f"not in the schema: {missing}"
    routes = _api_routes()
    assert routes <= paths, f"API routes missing from the schema: {sorted(routes - paths)}"
    assert paths <= routes, f"schema paths with no route: {sorted(paths - routes)}"
    assert openapi["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    # Authenticated operations accept the JWT; the catalog and auth/ are open.
    holds = openapi["paths"]["/api/v1/showtimes/{showtime_id}/holds/"]["post"]
    assert {"jwtAuth": []} in holds["security"] and {} not in holds["security"]
    assert {} in openapi["paths"]["/api/v1/shows/"]["get"]["security"]


def _api_routes() -> set[str]:
    """The ``/api/v1/`` routes of the URLconf, spelled as OpenAPI paths (``{param}``, ``pk`` as
    ``id``), without the router's ``.json`` format-suffix variants."""
    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    routes = set()
    for route in walk(get_resolver().url_patterns, "/"):
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)  # router regexes
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)  # path() converters
        route = route.replace("^", "").replace("$", "")
        if route.startswith("/api/v1/") and "{format}" not in route:
            routes.add(route.replace("{pk}", "{id}"))
    return routes


@pytest.mark.django_db
def test_error_responses_are_the_error_body(openapi):
    """Each api.md operation documents its errors: the api.md body, the codes in the text."""
    error = openapi["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(openapi["components"]["schemas"]["ErrorBody"]["required"]) == {
        "code",
        "message",
        "details",
    }
    for path in API_PATHS:
        for method, operation in openapi["paths"][f"/api/v1/{path}"].items():
            statuses = {int(s) for s in operation["responses"]}
            assert any(s >= 400 for s in statuses), (method, path)
            if path != "auth/register/":  # every other operation checks a token it is sent
                assert 401 in statuses, (method, path)
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    content = response["content"]["application/json"]["schema"]
                    assert content == {"$ref": "#/components/schemas/Error"}, (method, path)
                    assert re.fullmatch(
                        r"[a-z_]+( \(.+?\))?(, [a-z_]+( \(.+?\))?)*", response["description"]
                    ), (method, path, status)
    create = openapi["paths"]["/api/v1/orders/"]["post"]["responses"]
    assert "idempotency_key_reuse" in create["422"]["description"]
    assert "idempotency_in_progress" in create["409"]["description"]
    pay = openapi["paths"]["/api/v1/orders/{id}/pay/"]["post"]["responses"]
    assert {"order_expired", "order_not_payable", "busy"} <= set(
        re.findall(r"[a-z_]+", pay["409"]["description"])
    )


@pytest.mark.django_db
def test_every_operation_documents_malformed_request_and_unavailable(openapi):
    """Issue #14: any operation may answer 400 malformed_request and 503 unavailable."""
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "malformed_request" in responses["400"]["description"], (method, path)
            if path != "/api/v1/health/":
                assert responses["503"]["description"].startswith("unavailable"), (method, path)
                assert "Retry-After" in responses["503"]["headers"]


@pytest.mark.django_db
def test_docs_page_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/schema/" in html
    from django.conf import settings as django_settings

    if "drf_spectacular_sidecar" in django_settings.INSTALLED_APPS:
        # Offline: Swagger UI's own files come from the sidecar package, served as static files.
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
        assert assets and "cdn.jsdelivr" not in html
        for url in assets:
            assert client.get(url).status_code == 200, url


# --- schemathesis: generated requests against the app ----------------------------------------------

RUN: dict = {"requests": Counter(), "statuses": Counter(), "undocumented": set(), "started": 0.0}


@pytest.fixture
def api_schema(request, transactional_db):
    """The schema as the app serves it, loaded through the app itself (WSGI, in-process).

    Real transactions (``transactional_db``): the services commit, lock and retry as in
    production. The demo data (a show, two showtimes of the Harbour Arena, users ``staff`` and
    ``demo``) is loaded first.
    """
    from django.core.wsgi import get_wsgi_application

    # schemathesis 4.32's lazy schemas read and write ``item._nodeid``, which pytest 9.2 no longer
    # has (it keeps ``item._id``); a plain attribute with the same value lets them run.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    call_command("load_demo", stdout=io.StringIO())
    RUN["requests"].clear()
    RUN["statuses"].clear()
    RUN["undocumented"].clear()
    RUN["started"] = time.monotonic()
    app = get_wsgi_application()

    def identity(environ, start_response):
        # schemathesis' WSGI transport sends requests' default ``Accept-Encoding: gzip, deflate``
        # but, unlike requests, does not decode the answer; compression has its own tests
        # (ticketing/tests/test_compression.py).
        environ.pop("HTTP_ACCEPT_ENCODING", None)
        return app(environ, start_response)

    yield schemathesis.openapi.from_wsgi("/api/schema/", identity)
    if RUN["requests"]:
        seconds = time.monotonic() - RUN["started"]
        print(
            f"\nschemathesis: {len(RUN['requests'])} operations, "
            f"{sum(RUN['requests'].values())} requests in {seconds:.1f} s"
        )
        for label, n in sorted(RUN["requests"].items()):
            print(f"  {n:4d}  {label}")
        print("  statuses:", dict(sorted(RUN["statuses"].items(), key=str)))
        if RUN["undocumented"]:
            print(
                "  no error responses declared (checked for 5xx only):",
                ", ".join(sorted(RUN["undocumented"])),
            )


@pytest.fixture
def staff_headers(api_schema) -> dict[str, str]:
    """A real access JWT of the demo's staff user (staff, so that ``GET stats/`` answers 200)."""
    from django.contrib.auth import get_user_model

    return bearer(get_user_model().objects.get(username="staff"))


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _routed(url: str) -> bool:
    try:
        resolve(unquote(urlsplit(url).path))
    except Resolver404:
        return False
    return True


lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("SCHEMA_TEST_RANDOM"),
    suppress_health_check=list(HealthCheck),
)
@lazy_schema.parametrize()
def test_api_conforms_to_schema(case, staff_headers):
    response = case.call(headers=staff_headers)
    RUN["requests"][case.operation.label] += 1
    RUN["statuses"][response.status_code] += 1
    if not _routed(response.request.url):
        # A path parameter the URLconf cannot route (e.g. "abc" for ``<int:showtime_id>``) never
        # reaches a view; ``handler404`` still answers with the API's JSON error body.
        # A NUL or bytes that are not UTF-8 in the path are refused first (400
        # malformed_request, ticketing.middleware.MalformedRequestMiddleware).
        RUN["statuses"]["unrouted"] += 1
        path = urlsplit(response.request.url).path
        raw = unquote_to_bytes(path)
        # Django's test client puts the percent-decoded text into PATH_INFO, not its bytes as a
        # server does (PEP 3333), so the middleware reads a non-ASCII character as latin-1
        # bytes, which are not UTF-8 (under a real server it reads the client's bytes).
        as_tested = unquote(path).encode("latin-1", "replace")
        malformed = b"\x00" in raw or not _utf8(raw) or not _utf8(as_tested)
        assert response.status_code == (400 if malformed else 404)
        assert response.json()["error"]["code"] == (
            "malformed_request" if malformed else "not_found"
        )
        return
    if _documents_errors(case.operation):
        case.validate_response(response, checks=CHECKS, headers=staff_headers)
    else:
        # An operation that declares no error response at all (another module's, not yet
        # documented) is held to "no 5xx" only; test_error_responses_are_the_error_body makes
        # sure every operation of api.md's booking core declares its errors.
        RUN["undocumented"].add(case.operation.label)
        case.validate_response(response, checks=[not_a_server_error], headers=staff_headers)


def _documents_errors(operation) -> bool:
    return any(str(status).startswith("4") for status in operation.definition.raw["responses"])


# --- The happy paths and the main conflicts, validated against the schema --------------------------


class Api:
    """Sends requests built from the schema's operations and validates each answer against it."""

    def __init__(self, schema, headers: dict[str, str]):
        self.schema, self.headers = schema, headers

    def __call__(
        self,
        method: str,
        path: str,
        expect: int,
        *,
        params=None,
        query=None,
        body=None,
        headers=None,
        auth=True,
    ):
        kwargs = {"path_parameters": params or {}, "query": query, "headers": headers}
        if body is not None:
            kwargs.update(body=body, media_type="application/json")
        case = self.schema[f"/api/v1/{path}"][method].Case(**kwargs)
        sent = dict(self.headers) if auth else {}
        response = case.call(headers=sent)
        assert response.status_code == expect, (method, path, response.content[:500])
        case.validate_response(
            response, checks=[*CONFORMANCE, response_headers_conformance], headers=sent
        )
        return response


def test_happy_paths_conform_to_schema(api_schema):
    from django.contrib.auth import get_user_model
    from django.db.models import F

    from seats.models import Hold, Showtime, ShowtimeSeat

    users = get_user_model().objects
    buyer = Api(api_schema, bearer(users.get(username="demo")))
    other = Api(api_schema, bearer(users.get(username="staff")))
    showtime = Showtime.objects.order_by("starts_at")[0].pk
    customer = {"name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0000"}

    # Catalog.
    buyer("GET", "shows/", 200, query={"limit": 1})
    show = buyer("GET", "showtimes/", 200, query={"limit": 5}).json()["results"][0]["show"]["id"]
    buyer("GET", "showtimes/", 200, query={"show": show, "starts_after": "2000-01-01T00:00:00Z"})
    buyer("GET", "showtimes/", 400, query={"starts_before": "tomorrow"})
    buyer("GET", "showtimes/{id}/", 200, params={"id": showtime}, auth=False)
    seats = buyer("GET", "showtimes/{id}/seats/", 200, params={"id": showtime}).json()["seats"]
    free = [s["id"] for s in seats if s["status"] == "available"][:12]

    # A hold: new (201), extended (200), read, one seat released.
    holds = "showtimes/{showtime_id}/holds/"
    on_showtime = {"showtime_id": showtime}
    hold = buyer("POST", holds, 201, params=on_showtime, body={"seats": free[:2]}).json()
    assert (
        buyer("POST", holds, 200, params=on_showtime, body={"seats": free[2:3]}).json()["id"]
        == hold["id"]
    )
    buyer("GET", "holds/{id}/", 200, params={"id": hold["id"]})
    other("GET", "holds/{id}/", 404, params={"id": hold["id"]})
    buyer("POST", "holds/{id}/release/", 200, params={"id": hold["id"]}, body={"seats": free[2:3]})
    # Extending: refused while it would gain nothing (just made), granted a minute later.
    on_hold = {"id": hold["id"]}
    refused = buyer("POST", "holds/{id}/extend/", 409, params=on_hold).json()
    assert refused["error"]["code"] == "extension_limit"
    earlier = {"expires_at": F("expires_at") - timedelta(minutes=1)}
    Hold.objects.filter(pk=hold["id"]).update(**earlier)
    ShowtimeSeat.objects.filter(claims__hold_id=hold["id"], claims__is_live=True).update(**earlier)
    assert buyer("POST", "holds/{id}/extend/", 200, params=on_hold).json()["extensions_left"] == 1
    other("POST", "holds/{id}/extend/", 404, params=on_hold)
    assert buyer("GET", "holds/", 200).json()["results"][0]["id"] == hold["id"]
    # Conflicts and bad input on holds.
    other("POST", holds, 409, params=on_showtime, body={"seats": free[:1]})
    other("POST", holds, 400, params=on_showtime, body={"seats": [str(uuid.uuid4())]})
    other("POST", holds, 400, params=on_showtime, body={"seats": free[:12]})
    other("POST", holds, 404, params={"showtime_id": 10**9}, body={"seats": free[:1]})
    buyer("POST", holds, 401, params=on_showtime, body={"seats": free[3:4]}, auth=False)

    # The hold becomes an order; a replay answers the same; another body with the key is 422.
    key = {"Idempotency-Key": f"test-{uuid.uuid4()}"}
    body = {"hold": hold["id"], "customer": customer, "payment_method": "card"}
    order = buyer("POST", "orders/", 201, body=body, headers=key).json()
    replay = buyer("POST", "orders/", 201, body=body, headers=key)
    assert replay.json() == order and replay.headers["idempotent-replayed"] == ["true"]
    buyer("POST", "orders/", 422, body={**body, "payment_method": "cash"}, headers=key)
    buyer("POST", "orders/", 409, body=body, headers={"Idempotency-Key": "another"})
    on_order = {"id": order["id"]}
    assert buyer("POST", "orders/{id}/pay/", 200, params=on_order).json()["status"] == "paid"
    tickets = buyer("GET", "orders/{id}/tickets/", 200, params=on_order).json()
    assert len(tickets) == 2 and all(t["status"] == "valid" for t in tickets)
    buyer("GET", "orders/{id}/", 200, params=on_order)
    other("GET", "orders/{id}/", 404, params=on_order)
    buyer("POST", "orders/{id}/cancel/", 409, params=on_order)
    assert buyer("GET", "orders/", 200).json()["count"] == 1

    # An order straight from seats, then cancelled: not payable any more.
    body = {
        "showtime": showtime,
        "seats": free[3:5],
        "customer": customer,
        "payment_method": "qr_code",
    }
    order = buyer("POST", "orders/", 201, body=body).json()
    on_order = {"id": order["id"]}
    assert (
        buyer("POST", "orders/{id}/cancel/", 200, params=on_order).json()["status"] == "cancelled"
    )
    buyer("POST", "orders/{id}/pay/", 409, params=on_order)
    buyer("GET", "orders/{id}/tickets/", 200, params=on_order)

    # A hold deleted (204), then its seats are free for somebody else.
    hold = buyer("POST", holds, 201, params=on_showtime, body={"seats": free[5:7]}).json()
    buyer("DELETE", "holds/{id}/", 204, params={"id": hold["id"]})
    other("POST", holds, 201, params=on_showtime, body={"seats": free[5:7]})

    # Auth.
    anyone = Api(api_schema, {})
    user = {"username": "grace", "email": "grace@example.com", "password": "Lovelace-1815!"}
    anyone("POST", "auth/register/", 201, body=user)
    anyone("POST", "auth/register/", 400, body=user)
    tokens = anyone(
        "POST", "auth/token/", 200, body={"username": "grace", "password": user["password"]}
    ).json()
    anyone("POST", "auth/token/refresh/", 200, body={"refresh": tokens["refresh"]})
    anyone("POST", "auth/token/", 401, body={"username": "grace", "password": "wrong"})
    anyone("POST", "auth/token/refresh/", 401, body={"refresh": "forged"})


@pytest.mark.django_db
def test_register_of_a_username_taken_meanwhile_is_400(client, monkeypatch):
    """Two sign-ups of one name at the same moment: the loser gets the documented 400, not a 500
    from the database's unique constraint."""
    from django.contrib.auth import get_user_model
    from django.db import IntegrityError

    def taken(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(get_user_model().objects, "create_user", taken)
    response = client.post(
        "/api/v1/auth/register/",
        {"username": "twin", "email": "twin@example.com", "password": "Lovelace-1815!"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"username": ["This username is taken."]}


# --- schemathesis's stateful mode: walks along the schema's links -----------------------------------

STATEFUL_EXAMPLES = int(os.environ.get("SCHEMA_STATEFUL_EXAMPLES", "40"))


def test_stateful_walks_conform_to_schema(api_schema):
    """schemathesis follows the OpenAPI links (ticketing/schema_links.py): showtime → seat map →
    hold → release / order → pay / cancel → tickets, with the real ids of earlier answers, as the
    demo buyer. Every answer must pass the conformance checks (never a 5xx), and the links must
    be in the schema and followed. Bounded: ``SCHEMA_STATEFUL_EXAMPLES`` walks (40) of at most 8
    steps, derandomized. schemathesis follows a link with a learned probability and merges the
    linked body fields into generated ones, so a walk reaches the seat map and a hold now and
    then but rarely an order (0 in 300 walks); the full hold → order → pay → cancel chain is
    checked against the schema by ``test_happy_paths_conform_to_schema``."""
    from django.contrib.auth import get_user_model

    from orders.models import Order
    from seats.models import Hold
    from seats.services import hold_release

    demo = get_user_model().objects.get(username="demo")
    headers = bearer(demo)
    steps: Counter = Counter()

    class Walk(api_schema.as_state_machine()):  # type: ignore[misc]  # a class made at run time
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, **kwargs):
            steps[(case.operation.label, response.status_code)] += 1
            case.validate_response(response, checks=CONFORMANCE, headers=headers)

        def teardown(self):
            # Each walk starts from the same holds: ``GET holds/`` lists the buyer's live holds,
            # and its links (to the hold, release, extend) are followed only when it lists one,
            # so holds left by an earlier walk would make a replayed walk draw differently
            # (hypothesis: FlakyStrategyDefinition).
            for hold in Hold.objects.live().filter(user=demo):
                hold_release(user=demo, hold_id=hold.pk)

    Walk.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    reached = {label for (label, status), _ in steps.items() if status < 300}
    print(
        "\nstateful walks:",
        sum(steps.values()),
        "calls;",
        ", ".join(f"{label} {status}: {n}" for (label, status), n in sorted(steps.items())),
    )
    links = api_schema.raw_schema["paths"]["/api/v1/orders/"]["post"]["responses"]["201"]["links"]
    assert {"PayOrder", "CancelOrder", "GetTickets"} <= set(links)
    # Only a link gives these a real id. Which of the showtime's linked operations the walks take
    # depends on their draws: derandomized, yet they changed with an unrelated edit (seen on
    # 2026-11-30, when the seat map stopped being among them). Any of them shows that the
    # showtime links are followed.
    linked = {
        "GET /api/v1/showtimes/{id}/",
        "GET /api/v1/showtimes/{id}/seats/",
        "GET /api/v1/showtimes/{id}/live/",
    }
    assert linked & reached, reached
    print("orders made by the walks:", Order.objects.filter(user__username="demo").count())
