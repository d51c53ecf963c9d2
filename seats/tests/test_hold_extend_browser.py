"""The seat map page's "Extend" button in a real browser (Playwright + Debian's Chromium against a
daphne process; docs/realtime.md "Seat map page"): it appears when ``hold.expiring`` arrives for a
hold that can still be extended, a click moves the countdown, and a refusal (409
``extension_limit``) is said and hides it.

The server runs with ``HOLD_EXPIRING_NOTICE_SECONDS=67`` and the showtime holds for 70 s, so the
notice comes 3 s after each new deadline instead of after four minutes."""

import re

import pytest

from conftest import seat_guids
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    DESKTOP,
    chromium,
    click_seat,
    message,
    off_loop,
    open_browser,
    open_seatmap,
    screenshot,
    seat_status,
    session_cookie,
    wait_status,
)
from seats.models import Hold, Showtime

pytestmark = pytest.mark.django_db(transaction=True)

TTL = 70
NOTICE = 67


def seconds_left(page) -> int:
    text = page.inner_text("#countdown-time")
    match = re.fullmatch(r"(\d\d):(\d\d)", text)
    assert match, text
    return int(match[1]) * 60 + int(match[2])


def test_extend_appears_with_hold_expiring_and_moves_the_countdown(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    make_showtime,
):
    showtime = make_showtime(hold_ttl=TTL)
    a = seat_guids(showtime, 1)[0]
    buyer = make_user()
    base_url = asgi_server(env={"HOLD_EXPIRING_NOTICE_SECONDS": str(NOTICE)})
    cookie = session_cookie(buyer, base_url)  # before the browser: its loop forbids the ORM
    extend_url = re.compile(rf"{re.escape(base_url)}/api/v1/holds/[0-9a-f-]+/extend/$")

    with open_browser(chromium) as browser:
        context = browser.new_context(viewport=DESKTOP)
        context.add_cookies([cookie])
        page = context.new_page()
        open_seatmap(page, base_url, showtime.pk)
        click_seat(page, a)
        wait_status(page, a, "mine")
        page.wait_for_selector("#countdown", state="visible", timeout=2000)
        assert page.locator("#extend-hold").is_hidden()  # no notice yet

        # hold.expiring (3 s after the hold was made): the button, and a spoken notice.
        page.wait_for_selector("#extend-hold", state="visible", timeout=8000)
        assert "about to expire" in message(page) and "Extend" in message(page)
        assert page.get_attribute("#message", "aria-live") == "polite"
        before = seconds_left(page)
        assert before <= TTL - 2, before
        screenshot(page, "seatmap-extend-offered.png")

        with page.expect_response(
            lambda r: r.request.method == "POST" and extend_url.match(r.url)
        ) as answer:
            page.click("#extend-hold")
        assert answer.value.status == 200
        body = answer.value.json()
        assert body["extensions_left"] == 1
        page.wait_for_function(
            "(before) => { const [m, s] = document.getElementById('countdown-time')"
            ".textContent.split(':').map(Number); return m * 60 + s > before + 1; }",
            arg=before,
            timeout=3000,
        )
        assert seconds_left(page) >= TTL - 2
        assert page.locator("#extend-hold").is_hidden()  # the offer was for the old deadline
        assert "held for you until" in message(page)
        hold = off_loop(lambda: Hold.objects.get(user=buyer))
        assert hold.extensions == 1 and hold.expires_at.isoformat() == body["expires_at"]

        # The next notice offers it again; staff lowered the cap meanwhile: the request (from
        # the keyboard this time) is refused with extension_limit, the page says so and hides
        # the button, the focus moves to the countdown; the hold stays.
        page.wait_for_selector("#extend-hold", state="visible", timeout=8000)
        off_loop(lambda: Showtime.objects.filter(pk=showtime.pk).update(max_hold_extensions=1))
        with page.expect_response(
            lambda r: r.request.method == "POST" and extend_url.match(r.url)
        ) as answer:
            page.focus("#extend-hold")
            page.keyboard.press("Enter")
        assert answer.value.status == 409
        assert answer.value.json()["error"]["code"] == "extension_limit"
        page.wait_for_selector("#extend-hold", state="hidden", timeout=2000)
        assert "No more extensions" in message(page)
        assert page.evaluate("document.activeElement.id") == "countdown"
        assert seat_status(page, a) == "mine"
        assert page.locator("#countdown").is_visible()
        screenshot(page, "seatmap-extend-refused.png")
