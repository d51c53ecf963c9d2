"""The staff pages (check-in, sales overview) in Thai (issue #17): the pages' text, and their
scripts' text from Django's JavaScriptCatalog (``/jsi18n/``) in the request's language."""

from __future__ import annotations

import json
import re

import pytest

from conftest import seat_guids
from orders.models import Ticket
from orders.services import order_create, order_pay
from orders.tests.test_staff_browser import CUSTOMER
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    DESKTOP,
    chromium,
    open_browser,
    session_cookie,
)
from seats.services import hold_create
from seats.tests.test_pages_th import THAI_MONTHS
from ticketing.tests.axe import assert_no_serious_violations


def js(text: str) -> str:
    """``text`` as the catalog script writes it (JSON, non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


@pytest.mark.django_db
def test_the_check_in_page_and_its_script_text_in_thai(staff_client):
    html = staff_client.get("/staff/checkin/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "<h1>เช็กอิน</h1>" in html and ">รหัสบัตร</label>" in html
    assert "การสแกนล่าสุด" in html and "Check in" not in html
    assert '<script src="/jsi18n/"></script>' in html and "js/checkin.js" in html
    catalog = staff_client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    for thai in ("เข้างานได้", "บัตรนี้ใช้ไปแล้ว", "ไม่พบบัตรนี้", "สแกนไปแล้วเมื่อ", "เครือข่ายขัดข้อง"):
        assert js(thai) in catalog, thai
    assert js("เข้างานได้") not in staff_client.get("/jsi18n/").content.decode()  # English


@pytest.mark.django_db
def test_the_sales_page_in_thai(staff_client, make_showtime):
    showtime = make_showtime(currency="THB")
    html = staff_client.get(
        f"/staff/showtimes/{showtime.pk}/sales/", HTTP_ACCEPT_LANGUAGE="th"
    ).content.decode()
    assert "<h1>ภาพรวมยอดขาย: Test Night</h1>" in html
    assert THAI_MONTHS[showtime.starts_at.month - 1] in html
    for thai in ("กำลังเชื่อมต่อ…", "รายได้", "ประเภทบัตร", "ว่าง", "ปิดการขาย"):
        assert thai in html, thai
    assert "Revenue" not in html and "js/sales.js" in html
    catalog = staff_client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert js("กำลังเชื่อมต่อใหม่…") in catalog and js("เชื่อมต่อแล้ว") in catalog


# ------------------------------------------------------------------------------- in a real browser


@pytest.mark.django_db(transaction=True)
def test_check_in_and_sales_in_thai_in_the_browser(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    staff,
    make_showtime,
):
    """The scripts' text comes from /jsi18n/ in Thai: a check-in result, its repeat; the sales
    overview's live state and baht amounts (Intl, the page's language)."""
    showtime = make_showtime(currency="THB")
    buyer = make_user()
    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1)).hold
    order = order_create(
        user=buyer, hold_id=hold.pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_pay(user=buyer, order_id=order.pk)
    ticket = Ticket.objects.select_related("claim__showtime_seat__seat").get(order=order)
    label = ticket.claim.showtime_seat.seat.label
    base_url = asgi_server()
    cookie = session_cookie(staff, base_url)  # database work before the browser's event loop

    with open_browser(chromium) as browser:
        context = browser.new_context(
            viewport=DESKTOP, extra_http_headers={"Accept-Language": "th"}
        )
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(f"{base_url}/staff/checkin/")
        assert page.inner_text("h1") == "เช็กอิน"
        page.fill("#checkin-code", ticket.code)
        page.press("#checkin-code", "Enter")
        page.wait_for_selector("#checkin-result[data-result=ok]", timeout=5000)
        assert page.inner_text("#checkin-result") == (
            f"เข้างานได้ — ที่นั่ง {label} คำสั่งซื้อ {order.number}"
        )
        page.fill("#checkin-code", ticket.code)
        page.press("#checkin-code", "Enter")
        page.wait_for_selector("#checkin-result[data-result=already_used]", timeout=5000)
        again = page.inner_text("#checkin-result")
        assert again.startswith("บัตรนี้ใช้ไปแล้ว — ที่นั่ง") and "สแกนไปแล้วเมื่อ" in again, again
        page.screenshot(path=str(ARTIFACTS / "checkin-th.png"), full_page=True)
        assert_no_serious_violations(page, "the check-in page in Thai, refused")

        page.goto(f"{base_url}/staff/showtimes/{showtime.pk}/sales/")
        page.wait_for_selector("#sales-live[data-state=live]", timeout=5000)
        assert page.inner_text("#sales-live") == "เชื่อมต่อแล้ว"
        page.wait_for_function("document.getElementById('card-sold').textContent === '1'")
        assert page.inner_text("#card-revenue") == "฿80.00"
        assert page.inner_text("#sales-table tfoot td:first-child") == "รวม"
        when = r"วัน\S+ที่ \d{1,2} \S+ \d{4} เวลา \d{2}:\d{2}:\d{2} UTC"  # Gregorian years
        starts = page.inner_text("#sales-starts")
        assert re.fullmatch(when, starts) and THAI_MONTHS[showtime.starts_at.month - 1] in starts
        assert re.fullmatch(when, page.inner_text("#sales-asof"))
        page.screenshot(path=str(ARTIFACTS / "sales-th.png"), full_page=True)
        assert_no_serious_violations(page, "the sales overview in Thai")
