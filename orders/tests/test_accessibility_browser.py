"""axe-core on the buyer's and the staff's pages in a real browser (Playwright + Debian's Chromium
against a daphne process, as ``test_staff_browser.py``): no serious or critical violation on the
sign-in page, my orders with an order, the printable ticket, the check-in page (before and after a
scan, admitted and refused), the sales overview and the admin's list of orders. The check-in page
at phone width with each result is kept as a screenshot in test-artifacts/."""

import pytest

from orders.models import Ticket
from orders.tests.test_staff_browser import paid_order, signed_in_page
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    DESKTOP,
    chromium,
    form_login_ready,
    open_browser,
    session_cookie,
    sign_in_with_form,
)
from ticketing.tests.axe import assert_no_serious_violations as assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)
PHONE_390 = {"width": 390, "height": 844}


def test_sign_in_my_orders_and_the_ticket_page_have_no_serious_violations(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    showtime,
):
    buyer = form_login_ready(make_user("alice"))
    order = paid_order(buyer, showtime, seats=2)
    code = Ticket.objects.filter(order=order).values_list("code", flat=True).first()
    base_url = asgi_server()

    with open_browser(chromium) as browser:
        page = browser.new_context(viewport=DESKTOP).new_page()
        page.goto(f"{base_url}/accounts/login/?next=/account/orders/")
        assert_accessible(page, "the sign-in page")
        sign_in_with_form(page, base_url, "alice", "/account/orders/")
        assert order.number in page.inner_text("#orders")
        assert_accessible(page, "my orders")
        page.goto(f"{base_url}/tickets/{code}/")
        assert_accessible(page, "the ticket page")


def test_staff_pages_have_no_serious_violations(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    staff,
    showtime,
):
    order = paid_order(make_user(), showtime)
    code = Ticket.objects.get(order=order).code
    base_url = asgi_server()
    cookie = session_cookie(staff, base_url)  # database work before the browser's event loop
    ARTIFACTS.mkdir(exist_ok=True)

    with signed_in_page(chromium, cookie, PHONE_390) as page:
        page.goto(f"{base_url}/staff/checkin/")
        assert_accessible(page, "the check-in page")

        page.fill("#checkin-code", code)
        page.press("#checkin-code", "Enter")
        page.wait_for_selector("#checkin-result[data-result=ok]", timeout=5000)
        assert page.locator("#checkin-log li[data-result=ok]").count() == 1
        page.screenshot(path=str(ARTIFACTS / "checkin-ok-390.png"), full_page=True)
        assert_accessible(page, "the check-in page, admitted")

        page.fill("#checkin-code", code)
        page.press("#checkin-code", "Enter")
        page.wait_for_selector("#checkin-result[data-result=already_used]", timeout=5000)
        assert page.inner_text("#checkin-result").startswith("Already used")
        page.screenshot(path=str(ARTIFACTS / "checkin-refused-390.png"), full_page=True)
        assert_accessible(page, "the check-in page, refused")

        page.set_viewport_size(DESKTOP)
        page.goto(f"{base_url}/staff/showtimes/{showtime.pk}/sales/")
        page.wait_for_selector("#sales-live[data-state=live]", timeout=5000)
        page.wait_for_function("document.getElementById('card-sold').textContent === '1'")
        assert_accessible(page, "the sales overview")

        page.goto(f"{base_url}/admin/orders/order/")
        assert order.number in page.inner_text("#result_list")
        assert_accessible(page, "the admin's orders")
