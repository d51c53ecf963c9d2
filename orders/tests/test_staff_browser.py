"""The staff pages in a real browser (Playwright + Debian's Chromium against a daphne process):
the admin's showtime page and the live sales overview, with screenshots kept in test-artifacts/."""

import pytest

from conftest import seat_guids
from orders.services import order_create, order_pay
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    DESKTOP,
    chromium,
    off_loop,
    open_browser,
    session_cookie,
)
from seats.services import hold_create

pytestmark = pytest.mark.django_db(transaction=True)
CUSTOMER = {"name": "Alice", "email": "alice@example.com", "phone": ""}


def test_admin_showtime_page_and_live_sales_overview(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    staff,
    showtime,
):
    alice, bob = make_user(), make_user()
    guids = seat_guids(showtime)
    hold = hold_create(user=alice, showtime_id=showtime.pk, seat_ids=guids[:2]).hold
    order = order_create(
        user=alice, hold_id=hold.pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_pay(user=alice, order_id=order.pk)
    base_url = asgi_server()
    cookie = session_cookie(staff, base_url)  # database work before the browser's event loop
    ARTIFACTS.mkdir(exist_ok=True)

    with open_browser(chromium) as browser:
        context = browser.new_context(viewport=DESKTOP)
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(f"{base_url}/admin/seats/showtime/{showtime.pk}/change/")
        assert "Test Night" in page.content()
        assert page.locator("text=Audit trail").count() >= 1
        assert page.locator("text=Live sales overview").count() == 1
        page.screenshot(path=str(ARTIFACTS / "admin-showtime.png"), full_page=True)

        page.goto(f"{base_url}/staff/showtimes/{showtime.pk}/sales/")
        page.wait_for_selector("#sales-live[data-state=live]", timeout=5000)
        page.wait_for_function("document.getElementById('card-sold').textContent === '2'")
        assert page.locator("#card-revenue").inner_text() == "€160.00"  # Intl, the page's language
        assert page.locator("#card-held").inner_text() == "0"
        off_loop(hold_create, user=bob, showtime_id=showtime.pk, seat_ids=guids[5:8])
        # the page refreshes itself on the showtime's seats.changed frame
        page.wait_for_function(
            "document.getElementById('card-held').textContent === '3'", timeout=5000
        )
        assert page.locator("#card-holds").inner_text() == "1"
        rows = page.locator("#sales-table tbody tr")
        assert rows.count() == 2 and "Front" in rows.nth(0).inner_text()
        page.screenshot(path=str(ARTIFACTS / "sales-overview.png"), full_page=True)
