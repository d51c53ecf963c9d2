"""The buyer's page "My orders and tickets" (``/account/orders/``, issue 16): own orders only,
newest first, paginated, statuses under the lapse rule, tickets with their printable page and QR,
cancel of a pending order; the ``GET orders/`` API list it mirrors; and the page in a real browser
(Playwright + Debian's Chromium against a daphne process).

Orders are made through the API (holds, orders, payment) as a buyer makes them, never by writing
rows.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.formats import date_format

from conftest import messages_of, seat_guids
from orders import views
from orders.models import Order, Ticket
from orders.services import order_staff_action, ticket_check_in
from orders.tests.qr import decode_svg_qr
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    DESKTOP,
    chromium,
    form_login_ready,
    jwt_for,
    open_browser,
    post_json,
    sign_in_with_form,
)

CUSTOMER = {"name": "Alice Buyer", "email": "alice@example.com", "phone": "+49 30 1234"}
PAGE = "/account/orders/"


# ------------------------------------------------------------------------------------------ helpers


def place_order(api, showtime, seats: list[str], *, pay: bool = False) -> dict:
    """Hold ``seats`` and order them through the API (paid too when ``pay``); the order's body."""
    hold = api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json")
    assert hold.status_code == 201, hold.json()
    body = {"hold": hold.json()["id"], "customer": CUSTOMER, "payment_method": "card"}
    order = api.post("/api/v1/orders/", body, format="json")
    assert order.status_code == 201, order.json()
    if not pay:
        return order.json()
    paid = api.post(f"/api/v1/orders/{order.json()['id']}/pay/")
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.json()
    return paid.json()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(response) -> list[tuple[int, str]]:
    """``[(order id, status shown)]`` of a page of the list, top to bottom."""
    html = response.content.decode()
    return [(int(i), s) for i, s in re.findall(r'data-order="(\d+)" data-status="(\w+)"', html)]


def order_html(response, order_id: int) -> str:
    """The HTML of one order's entry on the page."""
    html = response.content.decode()
    start = html.index(f'id="order-{order_id}"')
    end = html.find('<li class="order"', start)
    return html[start : end if end != -1 else len(html)]


def seat_status(api, showtime) -> dict[str, str]:
    snap = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()
    return {s["id"]: s["status"] for s in snap["seats"]}


def cancel_url(order_id: int) -> str:
    return f"/account/orders/{order_id}/cancel/"


# --------------------------------------------------------------------------- the page (test client)


@pytest.mark.django_db
def test_the_list_shows_own_orders_newest_first_with_statuses_under_the_lapse_rule(
    buyer, other_buyer, api, other_api, make_showtime, clock, settings
):
    showtime = make_showtime(rows=2, seats_per_row=5)
    a, b, c, d, e, f = seat_guids(showtime, 6)
    lapsed = place_order(api, showtime, [a])
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)  # the first order's deadline passes
    paid = place_order(api, showtime, [b, c], pay=True)
    pending = place_order(api, showtime, [d])
    theirs = place_order(other_api, showtime, [e, f])

    response = signed_in(buyer).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert listed(response) == [
        (pending["id"], "pending"),
        (paid["id"], "paid"),
        (lapsed["id"], "expired"),  # stored pending, read expired: the lapse rule
    ]
    assert Order.objects.get(pk=lapsed["id"]).status == "pending"  # a read writes nothing
    assert theirs["number"] not in html and f'data-order="{theirs["id"]}"' not in html
    assert "My orders and tickets" in html
    assert f'href="{PAGE}" aria-current="page">My orders</a>' in html  # the account nav

    entry = order_html(response, pending["id"])
    assert pending["number"] in entry and "Test Night" in entry
    assert showtime.plan.venue.name in entry
    with translation.override("en"):  # Django's formats for the language (docs/i18n.md)
        assert (
            f"{showtime.starts_at:%A} {date_format(showtime.starts_at, 'DATETIME_FORMAT')}" in entry
        )
    assert entry.count("€80.00") == 2  # total, and the seat's price (Babel: core/money.py)
    assert "Pay by" in entry and pending["expires_at"][:19] in entry  # the deadline, datetime=
    label = pending["tickets"][0]["seat"]["label"]
    assert f"<td>{label}</td><td>Front</td>" in entry
    assert f'action="{cancel_url(pending["id"])}"' in entry and "Cancel order" in entry

    entry = order_html(response, paid["id"])
    assert "€160.00" in entry and "Pay by" not in entry and "Cancel order" not in entry
    shown = re.findall(r'<span class="order-ticket__seat">([^<]+)</span>', entry)
    assert shown == [t["seat"]["label"] for t in paid["tickets"]]

    entry = order_html(response, lapsed["id"])
    assert "Expired" in entry and "Pay by" not in entry and "Cancel order" not in entry
    assert "order-ticket" not in entry
    assert a in seat_status(api, showtime) and seat_status(api, showtime)[a] == "available"


@pytest.mark.django_db
def test_a_paid_orders_tickets_link_their_printable_page_and_qr(buyer, staff, api, showtime):
    order = place_order(api, showtime, seat_guids(showtime, 2), pay=True)
    tickets = api.get(f"/api/v1/orders/{order['id']}/tickets/").json()
    client = signed_in(buyer)

    entry = order_html(client.get(PAGE), order["id"])
    for ticket in tickets:
        code = ticket["code"]
        assert f'data-code="{code}" data-status="valid"' in entry
        assert (
            f'<a class="order-ticket__link" href="/tickets/{code}/">Printable ticket</a>' in entry
        )
        assert f'src="/tickets/{code}/qr.svg" alt="QR code of the ticket for seat ' in entry
        assert client.get(f"/tickets/{code}/").status_code == 200
        qr = client.get(f"/tickets/{code}/qr.svg")
        assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
        svg = qr.content.decode()  # a document <img> can show: with the SVG namespace
        assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" ')
        assert decode_svg_qr(svg) == code

    # A ticket scanned at the door reads "used"; a refund voids them all, and they stay listed.
    first, second = (t["code"] for t in tickets)
    assert ticket_check_in(code=first, staff=staff)[0] == "ok"
    entry = order_html(client.get(PAGE), order["id"])
    assert f'data-code="{first}" data-status="used"' in entry
    assert f'data-code="{second}" data-status="valid"' in entry
    assert order_staff_action(order_id=order["id"], action="refund", staff=staff)[1]
    response = client.get(PAGE)
    assert listed(response) == [(order["id"], "refunded")]
    entry = order_html(response, order["id"])
    assert f'data-code="{first}" data-status="void"' in entry
    assert f'data-code="{second}" data-status="void"' in entry
    assert "Cancel order" not in entry


@pytest.mark.django_db
def test_cancel_of_a_pending_order_frees_its_seats(buyer, api, other_api, showtime):
    a, b = seat_guids(showtime, 2)
    order = place_order(api, showtime, [a, b])
    assert seat_status(api, showtime)[a] == "reserved"
    client = signed_in(buyer)

    response = client.post(cancel_url(order["id"]))
    assert response.status_code == 302 and response["Location"] == PAGE
    assert messages_of(response) == [
        f"Order {order['number']} is cancelled; its seats are free again."
    ]
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    assert seat_status(api, showtime)[a] == seat_status(api, showtime)[b] == "available"
    assert place_order(other_api, showtime, [a, b])  # someone else can buy them now

    page = client.get(PAGE)
    assert listed(page) == [(order["id"], "cancelled")]
    assert "Cancel order" not in order_html(page, order["id"])


@pytest.mark.django_db
def test_cancel_redirects_back_to_the_page_it_was_posted_from(buyer, api, showtime):
    order = place_order(api, showtime, seat_guids(showtime, 1))
    client = signed_in(buyer)
    response = client.post(cancel_url(order["id"]), {"page": "3"})
    assert response["Location"] == f"{PAGE}?page=3"
    for page in ("1", "", "x", "-2", "https://evil.example/"):
        assert client.post(cancel_url(order["id"]), {"page": page})["Location"] == PAGE


@pytest.mark.django_db
def test_cancel_of_a_paid_order_shows_the_error_and_changes_nothing(buyer, api, showtime):
    a = seat_guids(showtime, 1)[0]
    order = place_order(api, showtime, [a], pay=True)
    client = signed_in(buyer)

    response = client.post(cancel_url(order["id"]), follow=True)
    assert response.status_code == 200 and response.redirect_chain == [(PAGE, 302)]
    html = response.content.decode()
    assert '<li class="flash flash--error">' in html
    assert "This order is paid; only pending orders can be cancelled." in html
    assert Order.objects.get(pk=order["id"]).status == "paid"
    assert list(Ticket.objects.filter(order_id=order["id"]).values_list("status", flat=True)) == [
        "valid"
    ]
    assert seat_status(api, showtime)[a] == "sold"


@pytest.mark.django_db
def test_cancel_of_a_lapsed_order_records_its_expiry_and_says_so(
    buyer, api, showtime, clock, settings
):
    order = place_order(api, showtime, seat_guids(showtime, 1))
    clock.advance(settings.PAYMENT_WINDOW_SECONDS)
    response = signed_in(buyer).post(cancel_url(order["id"]))
    assert response.status_code == 302
    assert messages_of(response) == ["This order is expired; only pending orders can be cancelled."]
    assert Order.objects.get(pk=order["id"]).status == "expired"


@pytest.mark.django_db
def test_cancel_of_another_buyers_order_or_none_is_404(buyer, other_api, showtime):
    theirs = place_order(other_api, showtime, seat_guids(showtime, 1))
    client = signed_in(buyer)
    assert client.post(cancel_url(theirs["id"])).status_code == 404
    assert Order.objects.get(pk=theirs["id"]).status == "pending"
    assert client.post(cancel_url(theirs["id"] + 1000)).status_code == 404
    for bad in ("abc", "-1", str(2**63), "１"):  # not an id64: no route
        assert client.post(f"/account/orders/{bad}/cancel/").status_code == 404


@pytest.mark.django_db
def test_get_on_the_cancel_url_is_405(buyer, api, showtime):
    order = place_order(api, showtime, seat_guids(showtime, 1))
    client = signed_in(buyer)
    for method in (client.get, client.put, client.delete):
        assert method(cancel_url(order["id"])).status_code == 405
    assert Order.objects.get(pk=order["id"]).status == "pending"


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(api, showtime):
    order = place_order(api, showtime, seat_guids(showtime, 1))
    client = Client()
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/orders/"
    response = client.post(cancel_url(order["id"]))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/orders/"
    assert Order.objects.get(pk=order["id"]).status == "pending"
    assert "My orders" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_page_lists_the_buyers_live_holds_with_the_way_back(
    buyer, api, other_api, make_showtime, clock
):
    showtime, later = make_showtime(hold_ttl=300), make_showtime(hold_ttl=60)
    mine = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seat_guids(showtime, 2)}, format="json"
    ).json()
    lapsing = api.post(
        f"/api/v1/showtimes/{later.pk}/holds/", {"seats": seat_guids(later, 1)}, format="json"
    ).json()
    other_api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": seat_guids(showtime)[5:6]},
        format="json",
    )
    clock.advance(61)  # the second hold has lapsed: no longer listed
    html = signed_in(buyer).get("/account/orders/").content.decode()
    assert html.count('class="account-hold"') == 1
    assert f'data-hold="{mine["id"]}"' in html and lapsing["id"] not in html
    for seat in mine["seats"]:
        assert seat["label"] in html
    assert "Held for about 4 more minutes." in html
    assert f'href="/showtimes/{showtime.pk}/"' in html
    thai = signed_in(buyer).get("/account/orders/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "ที่นั่งที่จองไว้ให้คุณ" in thai and "จองไว้ให้อีกประมาณ 4 นาที" in thai


@pytest.mark.django_db
def test_a_buyer_without_orders_sees_an_empty_state(buyer):
    response = signed_in(buyer).get(PAGE)
    assert response.status_code == 200
    assert "You have no orders yet." in response.content.decode()
    assert listed(response) == []


@pytest.mark.django_db
def test_pages_and_bad_page_numbers(buyer, api, make_showtime, monkeypatch):
    monkeypatch.setattr(views, "ORDERS_PER_PAGE", 2)
    showtime = make_showtime(rows=1, seats_per_row=5)
    made = [place_order(api, showtime, [g], pay=True)["id"] for g in seat_guids(showtime)]
    newest_first = made[::-1]
    client = signed_in(buyer)

    def ids(query: str) -> list[int]:
        response = client.get(f"{PAGE}{query}")
        assert response.status_code == 200, query
        return [i for i, _ in listed(response)]

    assert ids("") == ids("?page=1") == newest_first[:2]
    assert ids("?page=2") == newest_first[2:4]
    assert ids("?page=3") == newest_first[4:]
    page2 = client.get(f"{PAGE}?page=2").content.decode()
    assert 'rel="prev" href="?page=1"' in page2 and 'rel="next" href="?page=3"' in page2
    assert "Page 2 of 3" in page2
    # Not a number: the first page; out of range: the last; never a 500.
    for bad in ("abc", "", "1.5", "١", "page"):
        assert ids(f"?page={bad}") == newest_first[:2], bad
    for past in ("0", "-1", "4", "99999", "9" * 40):
        assert ids(f"?page={past}") == newest_first[4:], past
    assert ids("?page=2&page=x") == newest_first[:2]  # the last value counts


@pytest.mark.django_db
def test_the_page_reads_a_constant_number_of_queries(
    buyer, api, make_showtime, django_assert_max_num_queries
):
    showtime = make_showtime(rows=2, seats_per_row=10)
    guids = seat_guids(showtime)
    place_order(api, showtime, guids[:2], pay=True)
    client = signed_in(buyer)
    client.get(PAGE)  # a first request may do more (the session)
    with CaptureQueriesContext(connection) as one_order:
        assert len(listed(client.get(PAGE))) == 1
    queries = len(one_order.captured_queries)  # now: the log is cleared by later requests

    for i in range(2, 12, 2):  # five more: three paid with tickets, two pending
        place_order(api, showtime, guids[i : i + 2], pay=i < 8)
    with django_assert_max_num_queries(queries):
        response = client.get(PAGE)
    statuses = [s for _, s in listed(response)]
    assert statuses == ["pending", "pending", "paid", "paid", "paid", "paid"]
    assert response.content.decode().count('class="order-ticket"') == 8


# ---------------------------------------------------------------------------- GET orders/ (the API)


@pytest.mark.django_db
def test_the_api_list_has_the_buyers_orders_with_seats_in_constant_queries(
    buyer, api, other_api, make_showtime, django_assert_max_num_queries
):
    showtime = make_showtime(rows=2, seats_per_row=10)
    guids = seat_guids(showtime)
    first = place_order(api, showtime, guids[:2], pay=True)
    place_order(other_api, showtime, guids[18:])
    with CaptureQueriesContext(connection) as one_order:
        body = api.get("/api/v1/orders/").json()
    queries = len(one_order.captured_queries)  # now: the log is cleared by later requests
    assert body["count"] == 1 and body["results"] == [first]

    more = [place_order(api, showtime, guids[i : i + 2], pay=i < 8) for i in range(2, 10, 2)]
    with django_assert_max_num_queries(queries):
        body = api.get("/api/v1/orders/").json()
    assert [o["id"] for o in body["results"]] == [o["id"] for o in [*more[::-1], first]]
    assert body["results"][0]["tickets"] == more[-1]["tickets"]  # each with its seats
    assert body["results"][-1] == first
    newest = api.get("/api/v1/orders/?limit=2").json()
    assert [o["id"] for o in newest["results"]] == [more[-1]["id"], more[-2]["id"]]
    assert newest["count"] == 5 and newest["next"]


# ------------------------------------------------------------------------------- in a real browser


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_a_buyer_sees_the_ticket_opens_it_and_cancels_a_pending_order_in_the_browser(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    buyer,
    showtime,
):
    a, b, c, d = seat_guids(showtime, 4)
    form_login_ready(buyer)
    token = jwt_for(buyer)  # database work before the browser's event loop
    base_url = asgi_server()
    api = f"{base_url}/api/v1"

    def order_through_the_api(seats: list[str]) -> dict:
        _, hold = post_json(f"{api}/showtimes/{showtime.pk}/holds/", {"seats": seats}, token)
        body = {"hold": hold["id"], "customer": CUSTOMER, "payment_method": "card"}
        return post_json(f"{api}/orders/", body, token)[1]

    paid = order_through_the_api([a, b])
    status, paid = post_json(f"{api}/orders/{paid['id']}/pay/", {}, token)
    assert status == 200 and paid["status"] == "paid"
    pending = order_through_the_api([c])
    code = get_json(f"{api}/orders/{paid['id']}/tickets/", token)[0]["code"]
    label = paid["tickets"][0]["seat"]["label"]
    _, held = post_json(f"{api}/showtimes/{showtime.pk}/holds/", {"seats": [d]}, token)

    with open_browser(chromium) as browser:
        page = browser.new_context(viewport=DESKTOP).new_page()
        sign_in_with_form(page, base_url, buyer.username, PAGE)
        assert page.locator(".account a", has_text="My orders").get_attribute("href") == PAGE

        # The seats still held for the buyer, with the way back to the seat map to pay.
        hold = page.locator(f'.account-hold[data-hold="{held["id"]}"]')
        assert held["seats"][0]["label"] in hold.inner_text()
        assert "Held for about 5 more minutes." in hold.inner_text()
        with page.expect_navigation():
            hold.get_by_role("link", name="Continue to checkout").click()
        assert urlparse(page.url).path == f"/showtimes/{showtime.pk}/"
        page.go_back()
        page.wait_for_url(f"{base_url}{PAGE}", timeout=10000)

        # The paid order's ticket: seat, code, QR image (loaded), printable-ticket link.
        ticket = page.locator(f'#order-{paid["id"]} li.order-ticket[data-code="{code}"]')
        assert ticket.count() == 1
        assert label in ticket.inner_text() and code in ticket.inner_text()
        qr = ticket.locator("img")
        qr.scroll_into_view_if_needed()  # loading="lazy"
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=qr.element_handle()
        )
        assert page.locator(f'#order-{paid["id"]} [data-role="status"]').inner_text() == "Paid"
        assert page.locator(f"#order-{pending['id']} [data-role=status]").inner_text() == "Pending"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "account-orders.png"), full_page=True)

        ticket.get_by_role("link", name="Printable ticket").click()
        page.wait_for_url(f"{base_url}/tickets/{code}/", timeout=10000)
        printable = page.locator("article.ticket-print").inner_text()
        assert label in printable and paid["number"] in printable and "Valid" in printable
        page.go_back()
        page.wait_for_url(f"{base_url}{PAGE}", timeout=10000)

        # Cancel the pending order by clicking (a real form post, with its CSRF token).
        entry = page.locator(f"#order-{pending['id']}")
        with page.expect_navigation():
            entry.get_by_role("button", name="Cancel order").click()
        assert urlparse(page.url).path == PAGE
        assert f"Order {pending['number']} is cancelled" in page.inner_text(".flash--success")
        assert entry.get_attribute("data-status") == "cancelled"
        assert entry.locator("[data-role=status]").inner_text() == "Cancelled"
        assert entry.get_by_role("button", name="Cancel order").count() == 0
        assert page.locator(f"#order-{paid['id']}").get_attribute("data-status") == "paid"
        page.screenshot(path=str(ARTIFACTS / "account-orders-cancelled.png"), full_page=True)

    assert get_json(f"{api}/orders/{pending['id']}/", token)["status"] == "cancelled"
    seats = get_json(f"{api}/showtimes/{showtime.pk}/seats/", token)["seats"]
    assert {s["id"]: s["status"] for s in seats}[c] == "available"
