"""The printable ticket in Thai in a real browser (Playwright + Debian's Chromium against a daphne
process, issue #17): a seat of the Thai demo stadium ordered through the API with
``Accept-Language: th`` and paid; its ticket page renders Thai text (font fonts-thai-tlwg) and
baht, at desktop and phone width. Screenshots: test-artifacts/ticket-th.png, ticket-th-phone.png."""

import json
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Ticket
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    DESKTOP,
    chromium,
    jwt_for,
    open_browser,
)
from seats.demo_plan_th import build_thai_demo_plan
from seats.importer import plan_import
from seats.models import Show
from seats.services import showtime_create

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 390, "height": 844}
LABEL = "ริงไซด์ โซน A แถว 1 ที่นั่ง 4"


def call_api(method: str, url: str, token: str, body: dict | None = None) -> dict:
    """One API request in Thai (``Accept-Language: th``); the answer's JSON."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Accept-Language": "th",
        },
    )
    with urllib.request.urlopen(request, timeout=15) as answer:
        assert answer.headers["Content-Language"] == "th"
        return json.load(answer)


def test_a_thai_ticket_page_in_the_browser(asgi_server, chromium, make_user):  # noqa: F811
    plan = plan_import(raw=build_thai_demo_plan(), venue_name="สนามมวยเวทีนครหลวง")
    showtime = showtime_create(
        show=Show.objects.create(title="ศึกมวยไทยวันศุกร์"),
        plan=plan,
        starts_at=(timezone.now() + timedelta(days=10)).replace(hour=11, minute=0),
        prices={"ริงไซด์": Decimal("3000"), "ชั้น 2": Decimal("1500"), "ชั้น 3": Decimal("800")},
        currency="THB",
    )
    seat = plan.seats.get(label=LABEL)
    token = jwt_for(make_user("somchai"))
    base_url = asgi_server()
    api = f"{base_url}/api/v1"

    order = call_api(
        "POST",
        f"{api}/orders/",
        token,
        {
            "showtime": showtime.pk,
            "seats": [str(seat.guid)],
            "customer": {"name": "สมชาย ใจดี", "email": "somchai@example.com", "phone": ""},
            "payment_method": "qr_code",
        },
    )
    assert order["language"] == "th"
    assert call_api("POST", f"{api}/orders/{order['id']}/pay/", token)["status"] == "paid"
    code = Ticket.objects.get(order_id=order["id"]).code  # before the browser's event loop
    ARTIFACTS.mkdir(exist_ok=True)

    with open_browser(chromium) as browser:
        # An English browser opening the e-mail's link still sees the buyer's Thai ticket.
        context = browser.new_context(viewport=DESKTOP, locale="en-US")
        page = context.new_page()
        page.goto(f"{base_url}/tickets/{code}/")
        assert page.locator("html").get_attribute("lang") == "th"
        text = page.locator("article.ticket-print").inner_text()
        for thai in ("ศึกมวยไทยวันศุกร์", "สนามมวยเวทีนครหลวง", LABEL, "ที่นั่ง", "ประเภทบัตร"):
            assert thai in text
        assert "ริงไซด์" in text and "฿3,000.00" in text and "พิมพ์บัตร" in text
        assert order["number"] in text
        page.screenshot(path=str(ARTIFACTS / "ticket-th.png"), full_page=True)

        phone = browser.new_context(viewport=PHONE, locale="en-US").new_page()
        phone.goto(f"{base_url}/tickets/{code}/")
        # Thai has no spaces between words: nothing may run off a 390 px screen.
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert "฿3,000.00" in phone.locator("article.ticket-print").inner_text()
        phone.screenshot(path=str(ARTIFACTS / "ticket-th-phone.png"), full_page=True)
