"""The seat map page's best-available picker and general-admission zones, in a real browser
(Playwright + Debian's Chromium against a daphne process), on the extended Riethsporthalle plan
with its 248-place standing area."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    DESKTOP,
    chromium,
    open_browser,
    open_seatmap,
    screenshot,
    seats_shown_as,
    session_cookie,
    wait_status,
)
from seats.importer import plan_import
from seats.models import Show
from seats.services import showtime_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_best_available_picker_and_ga_stepper(asgi_server, chromium, make_user, shared_venues):  # noqa: F811 (the imported fixture)
    plan = plan_import(
        raw=(shared_venues / "riethsporthalle-extended.json").read_bytes(),
        venue_name="Riethsporthalle",
    )
    showtime = showtime_create(
        show=Show.objects.create(title="Basketball"),
        plan=plan,
        starts_at=timezone.now() + timedelta(days=3),
        prices={
            "Kategorie I": Decimal("35"),
            "Kategorie II": Decimal("25"),
            "VIP": Decimal("80"),
            "Stehplatz": Decimal("12"),
        },
    )
    alice, bob = make_user(), make_user()
    base_url = asgi_server()
    cookies = [session_cookie(alice, base_url), session_cookie(bob, base_url)]

    with open_browser(chromium) as browser:
        pages = []
        for cookie in cookies:
            context = browser.new_context(viewport=DESKTOP)
            context.add_cookies([cookie])
            page = context.new_page()
            open_seatmap(page, base_url, showtime.pk)
            pages.append(page)
        buyer, watcher = pages
        left = '[data-ga-available="Stehplatz"]'
        assert buyer.inner_text(left) == "248 of 248 left"
        assert buyer.locator("#best-category option").count() == 4  # any + 3 seat categories

        # GA: two steps up, add: 3 places held; both pages count down through the live frame
        buyer.click('[data-ga-zone="Stehplatz"] [data-ga-step="1"]')
        buyer.click('[data-ga-zone="Stehplatz"] [data-ga-step="1"]')
        assert buyer.inner_text('[data-ga-zone="Stehplatz"] .ga__qty') == "3"
        buyer.click('[data-ga-add="Stehplatz"]')
        buyer.wait_for_selector("#my-seats [data-hold-seat]", timeout=5000)
        assert "Stehplatz #1" in buyer.inner_text("#my-seats")
        watcher.wait_for_function(
            f"document.querySelector('{left}').textContent === '245 of 248 left'", timeout=5000
        )
        buyer.wait_for_function(
            f"document.querySelector('{left}').textContent === '245 of 248 left'", timeout=5000
        )

        # Best available: 2 VIP seats together become mine on the map
        buyer.select_option("#best-quantity", "2")
        buyer.select_option("#best-category", "VIP")
        buyer.click("#best-submit")
        buyer.wait_for_function(
            """() => window.seatmap.state.entries.filter(
                (e) => window.seatmap.status(e.seat.id) === 'mine').length === 2""",
            timeout=5000,
        )
        # the hold.updated frame may paint the seats before the API answer sets the message
        buyer.wait_for_function(
            "document.getElementById('message').textContent.includes('Best available: Block B')",
            timeout=5000,
        )
        assert buyer.locator("#my-seats [data-hold-seat]").count() == 5
        mine = seats_shown_as(buyer, "mine")
        assert len(mine) == 2
        for guid in mine:
            wait_status(watcher, guid, "held")
        screenshot(buyer, "seatmap-best-available-ga.png")
