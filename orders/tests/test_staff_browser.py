"""The staff pages in a real browser (Playwright + Debian's Chromium against a daphne process):
the admin's showtime page and the live sales overview, with screenshots kept in test-artifacts/."""

import contextlib
import re

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


def paid_order(buyer, showtime, seats: int = 1):
    """A paid order of ``buyer`` for the first ``seats`` seats of ``showtime`` (before the browser
    starts: database work)."""
    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, seats))
    order = order_create(
        user=buyer, hold_id=hold.hold.pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_pay(user=buyer, order_id=order.pk)
    return order


@contextlib.contextmanager
def signed_in_page(chromium, cookie: dict, viewport: dict | None = None, init_script: str = ""):  # noqa: F811
    """A page of a new browser signed in by ``cookie`` (:func:`session_cookie`, made before the
    browser starts), at ``viewport`` (desktop by default), with ``init_script`` run in every
    document before the page's own scripts."""
    with open_browser(chromium) as browser:
        context = browser.new_context(viewport=viewport or DESKTOP)
        context.add_cookies([cookie])
        if init_script:
            context.add_init_script(init_script)
        yield context.new_page()


def test_admin_showtime_page_and_live_sales_overview(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    staff,
    showtime,
):
    alice, bob = make_user(), make_user()
    guids = seat_guids(showtime)
    paid_order(alice, showtime, seats=2)
    base_url = asgi_server()
    cookie = session_cookie(staff, base_url)  # database work before the browser's event loop
    ARTIFACTS.mkdir(exist_ok=True)

    with signed_in_page(chromium, cookie) as page:
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
        # one format for both times (Intl, the page's language, UTC)
        when = r"\w+, \w+ \d{1,2}, \d{4} at \d{2}:\d{2}:\d{2} UTC"
        starts = page.inner_text("#sales-starts")
        assert re.fullmatch(when, starts) and starts.startswith(f"{showtime.starts_at:%A, %B}")
        assert re.fullmatch(when, page.inner_text("#sales-asof"))
        off_loop(hold_create, user=bob, showtime_id=showtime.pk, seat_ids=guids[5:8])
        # the page refreshes itself on the showtime's seats.changed frame
        page.wait_for_function(
            "document.getElementById('card-held').textContent === '3'", timeout=5000
        )
        assert page.locator("#card-holds").inner_text() == "1"
        rows = page.locator("#sales-table tbody tr")
        assert rows.count() == 2 and "Front" in rows.nth(0).inner_text()
        page.screenshot(path=str(ARTIFACTS / "sales-overview.png"), full_page=True)


def test_check_in_beeps_and_vibrates_unless_muted(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    staff,
    showtime,
):
    """Each result vibrates (short when admitted, a long pattern when refused) and beeps where the
    browser can; the "Sound and vibration" box turns both off and is remembered on reload."""
    from orders.models import Ticket

    code = Ticket.objects.get(order=paid_order(make_user(), showtime)).code
    base_url = asgi_server()
    cookie = session_cookie(staff, base_url)
    # record navigator.vibrate's calls (headless Chromium has no vibration motor)
    record = "window.vibrations = []; navigator.vibrate = (p) => { window.vibrations.push(p); return true; };"

    with signed_in_page(chromium, cookie, init_script=record) as page:
        page.goto(f"{base_url}/staff/checkin/")
        assert page.is_checked("#checkin-sound")
        for result in ("ok", "already_used"):
            page.fill("#checkin-code", code)
            page.press("#checkin-code", "Enter")
            page.wait_for_selector(f"#checkin-result[data-result={result}]", timeout=5000)
        assert page.evaluate("window.vibrations") == [[120], [400, 120, 400, 120, 400]]

        page.uncheck("#checkin-sound")
        page.reload()
        assert not page.is_checked("#checkin-sound")  # remembered (localStorage)
        page.fill("#checkin-code", "no-such-code")
        page.press("#checkin-code", "Enter")
        page.wait_for_selector("#checkin-result[data-result=unknown]", timeout=5000)
        assert page.evaluate("window.vibrations") == []
