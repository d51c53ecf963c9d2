"""The seat map on the 20,000-seat arena (issue #18), in Debian's Chromium driven by Playwright
against a real server process (``asgi_server``), as a buyer uses it:

- on a 390 px phone with taps only: the whole venue first, a tap on a section zooms into it, a tap
  on a seat holds it; the page never scrolls sideways;
- the list view (section → row → seat): a seat held from it, another buyer's hold seen in it live;
- the arena drawn, a seat held on one page and seen held on a second page;
- axe-core: no serious or critical violation on the seat map (map and list view) and the
  checkout.

Keyboard-only selection (one tab stop, arrow keys, Enter) is tested in
``realtime/tests/test_browser.py``. Screenshots go to ``test-artifacts/`` (``arena-phone-*.png``).
"""

from __future__ import annotations

import pytest

from conftest import seat_guids
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    chromium,
    click_seat,
    jwt_for,
    off_loop,
    open_browser,
    post_json,
    record,
    screenshot,
    seat_status,
    seat_text,
    session_cookie,
    signed_in_seatmap,
    wait_status,
)
from ticketing.tests.axe import assert_no_serious_violations as assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def map_facts(page) -> dict:
    """What the map shows now: zoom (CSS px between seat centres), the section zoomed into, the
    seats drawn."""
    return page.evaluate(
        """() => ({
            pitch: seatmap.canvas.screenPitch(),
            where: document.getElementById('map-where').textContent,
            seats: seatmap.state.entries.length,
            drawn: seatmap.canvas.drawn,
        })"""
    )


def tap(page, point: dict):
    page.touchscreen.tap(point["x"], point["y"])


def test_a_phone_buyer_zooms_into_a_section_and_holds_a_seat_with_taps_only(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    arena_showtime,
):
    buyer = make_user("pim")
    showtime = arena_showtime
    guid = seat_guids(showtime)[4321]
    base_url = asgi_server(server="uvicorn")
    cookie = session_cookie(buyer, base_url)

    with open_browser(chromium) as browser:
        page, ready_ms = signed_in_seatmap(browser, cookie, base_url, showtime.pk, **PHONE)
        facts = map_facts(page)
        assert facts["seats"] == 20000
        # The whole venue fits the phone: no sideways scrolling, seats far too small to aim at.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert facts["pitch"] < 5, facts
        screenshot(page, "arena-phone-overview.png", full_page=False)

        # A tap on the section of the seat zooms into that section, seats big enough for a finger.
        zone = page.evaluate("(id) => seatmap.state.seats.get(id).zone", guid)
        page.evaluate("document.getElementById('map').scrollIntoView()")
        tap(
            page,
            page.evaluate(
                "(id) => seatmap.canvas.clientPoint(seatmap.state.seats.get(id).i)", guid
            ),
        )
        page.wait_for_function(
            "(zone) => document.getElementById('map-where').textContent === zone", arg=zone
        )
        zoomed = map_facts(page)
        assert zoomed["pitch"] >= 24, zoomed
        assert seat_status(page, guid) == "available"  # the tap zoomed; it held nothing
        screenshot(page, "arena-phone-section.png", full_page=False)

        # The seat is in view now (pan to it with a drag if it is not), and a tap holds it.
        point = page.evaluate(
            "(id) => seatmap.canvas.clientPoint(seatmap.state.seats.get(id).i)", guid
        )
        box = page.locator("#map").bounding_box()
        inside = box["x"] < point["x"] < box["x"] + box["width"] and (
            box["y"] < point["y"] < box["y"] + box["height"]
        )
        if not inside:
            point = page.evaluate("(id) => seatmap.reveal(id, 'touch')", guid)
        tap(page, point)
        wait_status(page, guid, "mine")
        label = page.evaluate("(id) => seatmap.state.seats.get(id).seat.label", guid)
        assert label in page.inner_text("#my-seats")
        page.wait_for_selector("#countdown", state="visible")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "arena-phone-held.png", full_page=False)
        # The basket and the checkout are below the map, on the same page.
        map_box = page.locator("#map").bounding_box()
        assert page.locator("#checkout-form").bounding_box()["y"] > map_box["y"] + map_box["height"]

    from seats.models import ShowtimeSeat

    row = off_loop(lambda: ShowtimeSeat.objects.get(showtime=showtime, seat__guid=guid))
    assert row.status == "held"
    record(arena_phone_ready_ms=round(ready_ms))


def test_the_list_view_holds_a_seat_and_shows_another_buyers_hold_live(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    make_showtime,
):
    buyer = make_user("lin")
    other = make_user("oscar")
    showtime = make_showtime(rows=2, seats_per_row=5)
    a, b = seat_guids(showtime, 2)
    base_url = asgi_server()
    cookie = session_cookie(buyer, base_url)
    token = jwt_for(other)

    with open_browser(chromium) as browser:
        page, _ = signed_in_seatmap(
            browser, cookie, base_url, showtime.pk, viewport={"width": 390, "height": 844}
        )
        page.click("#list-toggle")
        assert page.get_attribute("#list-toggle", "aria-expanded") == "true"
        zone = page.evaluate("(id) => seatmap.state.seats.get(id).zone", a)
        summary = page.locator(f'#seat-list details[data-zone="{zone}"] summary')
        assert "10 of 10 seats available" in summary.inner_text()
        summary.click()
        button = page.locator(f'#seat-list button[data-seat-id="{a}"]')
        assert button.get_attribute("aria-label") == seat_text(page, a)
        assert button.get_attribute("aria-pressed") == "false"
        assert page.locator("#seat-list h4").count() == 2  # the two rows

        button.click()
        page.wait_for_selector(f'#seat-list button[data-seat-id="{a}"][aria-pressed="true"]')
        assert seat_status(page, a) == "mine"
        assert button.get_attribute("data-status") == "mine"

        # Another buyer holds seat b through the API: the list shows it held, the count drops.
        status, _ = post_json(
            f"{base_url}/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [b]}, token
        )
        assert status == 201
        page.wait_for_selector(f'#seat-list button[data-seat-id="{b}"][data-status="held"]')
        assert page.get_attribute(f'#seat-list button[data-seat-id="{b}"]', "aria-disabled") == (
            "true"
        )
        page.wait_for_function(
            "(sel) => document.querySelector(sel).innerText.includes('8 of 10 seats available')",
            arg=f'#seat-list details[data-zone="{zone}"] summary',
        )
        assert_accessible(page, "the seat map's list view")


def test_the_arena_renders_and_a_hold_on_one_page_shows_on_another(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_user,
    arena_showtime,
):
    buyer = make_user("ana")
    watcher = make_user("wes")
    showtime = arena_showtime
    guid = seat_guids(showtime)[15000]
    base_url = asgi_server(server="uvicorn")
    cookies = [session_cookie(buyer, base_url), session_cookie(watcher, base_url)]

    with open_browser(chromium) as browser:
        opened = [signed_in_seatmap(browser, cookie, base_url, showtime.pk) for cookie in cookies]
        (first, _), (second, _) = opened
        ready = [ms for _, ms in opened]
        facts = map_facts(first)
        assert facts["seats"] == 20000 and facts["drawn"] >= 1
        assert first.evaluate("seatmap.state.entries.every(e => e.status === 'available')")
        # Section names are drawn where they cover no seat; the whole venue shows some of them.
        assert first.evaluate("seatmap.canvas.labels") >= 8
        # The legend shows the arena's categories and every seat state.
        legend = first.locator("#legend li")
        kinds = [legend.nth(i).get_attribute("data-legend") for i in range(legend.count())]
        for kind in ("available", "mine", "held", "reserved", "sold", "blocked", "wheelchair"):
            assert kind in kinds

        mark = "(id) => { const c = () => seatmap.status(id) === 'held' ? (window.seenAt = Date.now()) : requestAnimationFrame(c); c(); }"
        second.evaluate(mark, guid)
        clicked_at = first.evaluate("Date.now()")
        click_seat(first, guid)
        wait_status(first, guid, "mine")
        wait_status(second, guid, "held", timeout=2000)
        second.wait_for_function("() => window.seenAt", timeout=1000, polling="raf")  # its frame
        seen_ms = second.evaluate("window.seenAt") - clicked_at
        assert_accessible(first, "the arena seat map with a hold")
        first.fill("#checkout-form [name=name]", "Ana Example")
        first.fill("#checkout-form [name=email]", "ana@example.com")
        assert_accessible(first, "the checkout")

    record(arena_ready_ms=[round(x) for x in ready], arena_hold_seen_on_second_page_ms=seen_ms)
