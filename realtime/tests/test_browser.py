"""Browser end-to-end tests of the seat map page (realtime.md "Seat map page"): Playwright drives
Debian's Chromium (``/usr/bin/chromium``) against real daphne processes (``asgi_server``) on the
test database.

- two buyers in two browser contexts on one showtime: buyer 1 clicks a seat, buyer 2 sees it held
  within one second; buyer 2 clicks it and is told it was just taken; buyer 1 checks out and pays,
  buyer 2 sees it sold; the server is restarted on the same port, both pages reconnect and show the
  truth (a seat changed while the server was down);
- keyboard selection, the page at phone width, and the 1,252-seat Riethsporthalle plan.

Screenshots and the measured figures (``browser.json``) go to ``test-artifacts/``.

Threads and the database: Playwright's sync API runs an asyncio event loop (in a greenlet) in the
test's thread, so while a browser is open Django refuses ORM calls in that thread
(SynchronousOnlyOperation) and ``async_to_sync`` refuses to publish events from it. The tests
therefore create their data before the browser starts and make later database changes through
:func:`off_loop`, in a thread of its own, exactly as a server process would.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import connection

from conftest import seat_guids

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "Secret-pass-123"  # what make_user sets
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def chromium():
    """The Playwright sync API entry point, or a skip with a reason (a failure when ``CI`` is
    set: CI installs Debian's chromium and the pinned playwright package)."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        problem = f"the playwright package is not installed ({exc})"
    if problem is None and not os.access(CHROMIUM, os.X_OK):
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need a browser in CI: {problem}")
        pytest.skip(problem)
    return sync_playwright


@contextlib.contextmanager
def open_browser(sync_playwright):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def off_loop(fn, *args, **kwargs):
    """Run ``fn`` in a new thread (no event loop there: the ORM and event publishing work as in a
    server) on its own database connection; return its result or raise its exception."""
    box = {}

    def work():
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)
    if "error" in box:
        raise box["error"]
    return box["result"]


def form_login_ready(user):
    """``make_user`` hashes with MD5 (conftest: fast tests), which the server processes, on the
    default hashers, do not accept. Store a PBKDF2 hash (few iterations; the server upgrades it on
    sign-in) so the real sign-in form works."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    return user


def session_cookie(user, base_url: str) -> dict:
    """A signed-in session (``force_login``, stored in the test database) as a browser cookie."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}


def jwt_for(user) -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    return str(RefreshToken.for_user(user).access_token)


def post_json(url: str, body: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def seat_status(page, guid: str) -> str | None:
    """How the page shows seat ``guid`` now (``window.seatmap.status``): available | mine | held |
    reserved | sold | blocked; None for a seat not on the map."""
    return page.evaluate("(id) => window.seatmap.status(id)", guid)


def seat_text(page, guid: str) -> str | None:
    """The seat's text as a screen reader and the tooltip give it (label, category, price, state)."""
    return page.evaluate("(id) => window.seatmap.text(id)", guid)


def seat_count(page, status: str | None = None) -> int:
    """How many seats the map has (``status`` None) or shows as ``status`` now."""
    return page.evaluate(
        """(status) => window.seatmap.state.entries.filter(
            (e) => status === null || window.seatmap.status(e.seat.id) === status).length""",
        status,
    )


def seats_shown_as(page, status: str) -> list[str]:
    """The guids of the seats the page shows as ``status``, in plan order."""
    return page.evaluate(
        """(status) => window.seatmap.state.entries.map((e) => e.seat.id)
            .filter((id) => window.seatmap.status(id) === status)""",
        status,
    )


def wait_status(page, guid: str, status: str, timeout: float = 5000):
    """Wait until the page shows seat ``guid`` as ``status``."""
    page.wait_for_function(
        "([id, status]) => window.seatmap && window.seatmap.status(id) === status",
        arg=[guid, status],
        timeout=timeout,
        polling="raf",
    )


def wait_drawn(page, guid: str, look: str, timeout: float = 5000):
    """Wait until the canvas draws seat ``guid`` as ``look`` (what the buyer sees, not only the
    page's state): the pixel just above the seat's centre, inside the disc, has the look's colour
    (static/js/seatcanvas.js "Seat looks": the category colour when available, the green disc
    of mine, the white inside of a held ring, the dark grey of sold). The seat must be in view."""
    page.wait_for_function(
        """([id, look]) => {
            const c = window.seatmap.canvas; const entry = window.seatmap.state.seats.get(id);
            const want = {available: entry.seat.color, mine: '#15803d', held: '#ffffff',
                          sold: '#4b5563'}[look];
            const sx = c.x[entry.i] * c.scale + c.tx; const sy = (c.y[entry.i] - 0.55 * c.r) * c.scale + c.ty;
            const [r, g, b] = c.ctx.getImageData(Math.round(sx * c.dpr), Math.round(sy * c.dpr), 1, 1).data;
            const hex = (k) => parseInt(want.slice(1 + 2 * k, 3 + 2 * k), 16);
            return Math.abs(r - hex(0)) + Math.abs(g - hex(1)) + Math.abs(b - hex(2)) < 60;
        }""",
        arg=[guid, look],
        timeout=timeout,
        polling="raf",
    )


def click_seat(page, guid: str):
    """Click the seat on the canvas with the mouse, as a buyer would: the map first zooms and
    pans (``seatmap.reveal``) until the seat is in view and big enough to aim at."""
    point = page.evaluate("(id) => window.seatmap.reveal(id, 'mouse')", guid)
    page.mouse.click(point["x"], point["y"])


def tap_seat(page, guid: str):
    """Tap the seat with a finger (the context needs ``has_touch``), revealed like
    :func:`click_seat` but at a size a finger can aim at."""
    point = page.evaluate("(id) => window.seatmap.reveal(id, 'touch')", guid)
    page.touchscreen.tap(point["x"], point["y"])


def mark_when(page, guid: str, status: str, name: str):
    """Set ``window[name]`` to ``Date.now()`` once the page shows seat ``guid`` as ``status``
    (checked every animation frame: within one frame of the change)."""
    page.evaluate(
        """([id, status, name]) => {
            const check = () => {
                if (window.seatmap.status(id) === status) window[name] = Date.now();
                else requestAnimationFrame(check);
            };
            check();
        }""",
        [guid, status, name],
    )


def open_seatmap(page, base_url: str, showtime_id: int, timeout: float = 15000) -> float:
    """Go to the seat map; return the milliseconds until it is drawn (``data-ready``) and live."""
    started = time.perf_counter()
    page.goto(f"{base_url}/showtimes/{showtime_id}/")
    page.wait_for_selector('#seatmap-app[data-ready="true"]', state="attached", timeout=timeout)
    ready_ms = (time.perf_counter() - started) * 1000
    page.wait_for_selector('#connection[data-state="live"]', timeout=timeout)
    return ready_ms


def signed_in_seatmap(browser, cookie: dict, base_url: str, showtime_id: int, **context):
    """A new browser context (``context``: Playwright's new_context options; the desktop size
    by default) signed in with ``cookie`` (:func:`session_cookie`), on the showtime's seat map,
    drawn and live: ``(page, milliseconds until drawn)``."""
    context.setdefault("viewport", DESKTOP)
    ctx = browser.new_context(**context)
    ctx.add_cookies([cookie])
    page = ctx.new_page()
    return page, open_seatmap(page, base_url, showtime_id)


def sign_in_with_form(page, base_url: str, username: str, next_path: str):
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}", timeout=10000)
    assert urlparse(page.url).path == next_path, f"sign-in failed, at {page.url}"
    assert "Signed in as" in page.inner_text(".account")


def screenshot(page, name: str, full_page: bool = True):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


_record_lock = threading.Lock()


def record(**figures):
    """Merge measured figures into ``test-artifacts/browser.json``, under the backends of this run
    (``sqlite+inmemory``, ``postgresql+redis``: CI runs both); each test owns its keys."""
    from django.conf import settings

    backends = f"{connection.vendor}+{'redis' if settings.REDIS_URL else 'inmemory'}"
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "browser.json"
    with _record_lock:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        data.setdefault(backends, {}).update(figures)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def message(page) -> str:
    return page.inner_text("#message")


# ------------------------------------------------------------------------------------------- tests


def test_two_buyers_hold_taken_sold_and_both_reconnect_after_a_restart(
    asgi_server, make_user, make_showtime, chromium
):
    from orders.models import Ticket
    from seats.models import ShowtimeSeat
    from seats.services import hold_create

    alice = form_login_ready(make_user("alice"))
    bob = make_user("bob")
    carol = make_user("carol")
    showtime = make_showtime(rows=2, seats_per_row=5)
    a, b, c = seat_guids(showtime, 3)
    base_url = asgi_server()
    port = urlparse(base_url).port
    bob_cookie = session_cookie(bob, base_url)
    path = f"/showtimes/{showtime.pk}/"

    with open_browser(chromium) as browser:
        ctx1 = browser.new_context(viewport=DESKTOP)
        ctx2 = browser.new_context(viewport=DESKTOP)
        ctx2.add_cookies([bob_cookie])
        page1, page2 = ctx1.new_page(), ctx2.new_page()

        # Buyer 1 signs in through the real form and lands on the seat map; buyer 2 has a session.
        sign_in_with_form(page1, base_url, "alice", path)
        page1.wait_for_selector('#seatmap-app[data-ready="true"]', state="attached", timeout=15000)
        page1.wait_for_selector('#connection[data-state="live"]', timeout=15000)
        open_seatmap(page2, base_url, showtime.pk)
        assert "bob" in page2.inner_text(".account")
        for page in (page1, page2):
            assert seat_count(page) == 10
            assert seat_count(page, "available") == 10
            wait_drawn(page, a, "available")
            assert page.get_attribute("#seatmap-app", "data-authenticated") == "true"
        assert page1.locator("#countdown").is_hidden()

        # Buyer 1 clicks seat a; buyer 2 sees it held within one second. Timestamps on the shared
        # browser clock: the click in page 1 (the button's release, which chooses the seat), the
        # status showing in page 2.
        mark_when(page2, a, "held", "heldAt")
        page1.evaluate(
            """() => document.addEventListener(
            'pointerup', () => { window.clickedAt = Date.now(); }, {capture: true, once: true})"""
        )
        started = time.perf_counter()
        click_seat(page1, a)
        wait_status(page2, a, "held", timeout=1000)  # the event, awaited for at most 1 s
        held_wall_ms = (time.perf_counter() - started) * 1000  # recorded, not asserted
        # mark_when stamps in its own animation-frame callback, which may run just after the
        # one that ended wait_status.
        page2.wait_for_function("() => window.heldAt", timeout=1000, polling="raf")
        held_browser_ms = page2.evaluate("window.heldAt") - page1.evaluate("window.clickedAt")
        wait_status(page1, a, "mine")
        wait_drawn(page2, a, "held")
        wait_drawn(page1, a, "mine")

        # Buyer 1: the seat is in the panel and the countdown runs (5 min hold).
        assert page1.locator(f'#my-seats [data-hold-seat="{a}"]').count() == 1
        page1.wait_for_selector("#countdown", state="visible", timeout=2000)
        assert re.fullmatch(r"0[45]:\d\d", page1.inner_text("#countdown-time")), page1.inner_text(
            "#countdown-time"
        )
        assert "is held for you" in message(page1)
        screenshot(page1, "seatmap-buyer1.png")

        # Buyer 2 clicks the held seat: "just taken", and it stays held.
        click_seat(page2, a)
        page2.wait_for_selector('#message[data-kind="error"]', timeout=2000)
        assert "just taken by someone else" in message(page2), message(page2)
        assert seat_status(page2, a) == "held"

        # The race: buyer 2's view is a moment behind (seat a still available there) and the
        # click reaches the server, which answers seat_unavailable: the same message.
        page2.evaluate("document.getElementById('message').replaceChildren()")
        page2.evaluate("(id) => { window.seatmap.state.seats.get(id).status = 'available'; }", a)
        holds_url = f"{base_url}/api/v1/showtimes/{showtime.pk}/holds/"
        with page2.expect_response(
            lambda r: r.request.method == "POST" and r.url == holds_url
        ) as answer:
            click_seat(page2, a)
        assert answer.value.status == 409
        assert answer.value.json()["error"]["code"] == "seat_unavailable"
        page2.wait_for_selector('#message[data-kind="error"]', timeout=2000)
        assert "just taken by someone else" in message(page2), message(page2)
        assert seat_status(page2, a) == "held"
        assert page2.locator("#countdown").is_hidden()

        # Buyer 1 checks out and pays; buyer 2 sees the seat sold.
        page1.fill("#checkout-form [name=name]", "Alice Example")
        page1.fill("#checkout-form [name=email]", "alice@example.com")
        page1.fill("#checkout-form [name=phone]", "+49 361 000000")
        page1.select_option("#checkout-form [name=payment_method]", "card")
        page1.click("#checkout-submit")
        page1.wait_for_selector("#tickets li.ticket[data-code]", timeout=10000)
        assert "Paid" in page1.inner_text("#tickets")
        code = page1.get_attribute("#tickets li.ticket", "data-code")
        assert code and code in page1.inner_text("#tickets li.ticket")
        wait_status(page2, a, "sold")
        wait_status(page1, a, "sold")
        wait_drawn(page2, a, "sold")
        wait_drawn(page1, a, "sold")
        assert page1.locator("#countdown").is_hidden()
        assert off_loop(
            lambda: list(Ticket.objects.filter(order__user=alice).values_list("code", flat=True))
        ) == [code]
        screenshot(page2, "seatmap-buyer2-sold.png")

        # Restart the server on the same port. While it is down, seat c is held for a third
        # buyer straight through the services; after the reconnect both pages show it held.
        proc, _log = asgi_server.processes[0]
        proc.terminate()
        proc.wait(timeout=15)
        down_at = time.perf_counter()
        for page in (page1, page2):
            page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=5000)
        off_loop(hold_create, user=carol, showtime_id=showtime.pk, seat_ids=[c])
        assert (
            off_loop(lambda: ShowtimeSeat.objects.get(showtime=showtime, seat__guid=c).status)
            == "held"
        )
        assert asgi_server(port=port) == base_url
        up_at = time.perf_counter()
        for page in (page1, page2):
            page.wait_for_selector('#connection[data-state="live"]', timeout=20000)
        live_at = time.perf_counter()
        for page in (page1, page2):
            wait_status(page, c, "held")
            wait_drawn(page, c, "held")
            assert seat_status(page, a) == "sold"
            assert seat_status(page, b) == "available"
            assert page.inner_text("#connection") == "Live"
        assert "Paid" in page1.inner_text("#tickets")
        screenshot(page2, "seatmap-buyer2-after-restart.png")

        # The map still works after the reconnect: buyer 2 holds seat b, buyer 1 sees it.
        click_seat(page2, b)
        wait_status(page2, b, "mine")
        wait_status(page1, b, "held", timeout=1000)
        wait_drawn(page1, b, "held")

    record(
        held_visible_latency_ms=round(held_browser_ms, 1),
        held_visible_latency_wall_ms=round(held_wall_ms, 1),
        reconnect_after_restart_ms=round((live_at - up_at) * 1000, 1),
        reconnect_since_server_stopped_ms=round((live_at - down_at) * 1000, 1),
    )


def test_a_seat_is_held_and_released_with_the_keyboard(
    asgi_server, make_user, make_showtime, chromium
):
    buyer = make_user("kim")
    showtime = make_showtime(rows=2, seats_per_row=5)
    guids = seat_guids(showtime)
    guid = guids[6]  # row B, seat 2
    base_url = asgi_server()
    cookie = session_cookie(buyer, base_url)

    with open_browser(chromium) as browser:
        context = browser.new_context(viewport=DESKTOP)
        context.add_cookies([cookie])
        page = context.new_page()
        open_seatmap(page, base_url, showtime.pk)

        # The map is one tab stop (after the toolbar's last button): Tab reaches it, the next
        # Tab leaves it, Shift+Tab comes back.
        canvas = "document.activeElement === document.querySelector('#map canvas')"
        assert page.get_attribute("#map canvas", "tabindex") == "0"
        assert page.get_attribute("#map canvas", "aria-label") == "Seat map"
        page.focus("#list-toggle")
        page.keyboard.press("Tab")
        assert page.evaluate(canvas)
        page.keyboard.press("Tab")
        assert not page.evaluate(canvas)
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(canvas)

        # Arrow keys move between seats (up and left as far as they go: seat Hall A-1; then down and
        # right: B-2); the seat the keyboard is on is announced (#map-focus, aria-live).
        for key in ["ArrowUp"] * 2 + ["ArrowLeft"] * 5:
            page.keyboard.press(key)
        said = page.inner_text("#map-focus")
        assert said == seat_text(page, guids[0]) and said.startswith("Seat Hall A-1, "), said
        page.keyboard.press("ArrowDown")
        assert page.inner_text("#map-focus") == seat_text(page, guids[5])
        page.keyboard.press("ArrowRight")
        said = page.inner_text("#map-focus")
        assert said == seat_text(page, guid) == "Seat Hall B-2, Back, €40.00, available", said
        assert page.evaluate(canvas)

        # Enter holds the seat the keyboard is on, Space releases it.
        page.keyboard.press("Enter")
        wait_status(page, guid, "mine")
        wait_drawn(page, guid, "mine")
        page.wait_for_selector("#countdown", state="visible", timeout=2000)
        assert seat_text(page, guid) == "Seat Hall B-2, Back, €40.00, held by you"
        assert all(seat_status(page, other) == "available" for other in guids if other != guid)
        page.keyboard.press("Space")
        wait_status(page, guid, "available")
        wait_drawn(page, guid, "available")
        page.wait_for_selector("#countdown", state="hidden", timeout=2000)


def test_a_page_closed_for_flooding_reconnects_after_a_pause_not_at_once(
    asgi_server, make_showtime, chromium
):
    """docs/realtime.md "Close codes": after 4429 the page waits 10–13 s before it reconnects
    (no reconnect storm), then is live again with a fresh snapshot. uvicorn, as ``./dev serve``
    and the Procfile run it."""
    showtime = make_showtime(rows=2, seats_per_row=5)
    base_url = asgi_server(server="uvicorn")

    with open_browser(chromium) as browser:
        page = browser.new_page(viewport=DESKTOP)
        codes = []
        page.on(
            "console",
            lambda msg: codes.append(msg.text) if "closed the socket" in msg.text else None,
        )
        open_seatmap(page, base_url, showtime.pk)
        # Event times on the browser's clock: the close, and every socket the page opens after.
        page.evaluate("""() => {
            window.closedAt = null; window.openedAt = [];
            const Native = window.WebSocket;
            window.WebSocket = class extends Native {
                constructor(...args) { super(...args); window.openedAt.push(Date.now()); }
            };
            const ws = window.seatmap.ws;
            ws.addEventListener('close', () => { window.closedAt = Date.now(); });
            for (let i = 0; i < 200; i++) ws.send('{"type": "ping"}'); }""")
        page.wait_for_function("window.closedAt !== null", timeout=10000)
        page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=10000)
        assert any("4429" in text for text in codes), codes
        page.wait_for_selector('#connection[data-state="live"]', timeout=30000)
        # The page's timer is at least 10 s: a socket opened earlier would be a reconnect storm.
        closed_at, opened_at = page.evaluate("[window.closedAt, window.openedAt]")
        assert len(opened_at) == 1, opened_at  # one reconnect, not a loop
        assert opened_at[0] - closed_at >= 10_000, (closed_at, opened_at)


def test_the_page_fits_a_phone_and_the_map_renders(asgi_server, make_user, make_showtime, chromium):
    buyer = make_user("pat")
    showtime = make_showtime(rows=4, seats_per_row=12)
    guid = seat_guids(showtime)[20]
    base_url = asgi_server()
    cookie = session_cookie(buyer, base_url)

    with open_browser(chromium) as browser:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        context.add_cookies([cookie])
        page = context.new_page()
        open_seatmap(page, base_url, showtime.pk)
        assert seat_count(page) == 48
        assert seat_count(page, "available") == 48
        sizes = page.evaluate("""() => {
            const canvas = document.querySelector('#map canvas');
            const box = canvas.getBoundingClientRect();
            const map = document.getElementById('map');
            // Drawn: the canvas has painted pixels (seats), not an empty box.
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let k = 3; k < pixels.length; k += 4) if (pixels[k] > 0) painted += 1;
            return {viewport: window.innerWidth, doc: document.documentElement.scrollWidth,
                    body: document.body.scrollWidth, canvasWidth: box.width,
                    canvasHeight: box.height, canvasRight: box.right, painted,
                    mapClient: map.clientWidth, mapRight: map.getBoundingClientRect().right};
        }""")
        assert sizes["viewport"] == PHONE["width"]
        assert sizes["doc"] <= sizes["viewport"], sizes  # no horizontal scroll of the page
        assert sizes["body"] <= sizes["viewport"], sizes
        assert sizes["mapRight"] <= sizes["viewport"], sizes  # the map box itself fits
        assert sizes["canvasRight"] <= sizes["viewport"], sizes
        assert sizes["canvasWidth"] > 0 and sizes["canvasHeight"] > 0, sizes
        assert sizes["painted"] > 0, sizes
        # A seat can be tapped (the map zooms and pans until a finger can aim at it).
        tap_seat(page, guid)
        wait_status(page, guid, "mine")
        wait_drawn(page, guid, "mine")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "seatmap-phone.png")


@pytest.mark.shared_venues
def test_the_1252_seat_riethsporthalle_renders_and_shows_a_hold_made_through_the_api(
    asgi_server, make_user, shared_venues, chromium
):
    from django.utils import timezone

    from seats.importer import plan_import
    from seats.models import Show
    from seats.services import showtime_create

    plan = plan_import(
        raw=(shared_venues / "riethsporthalle.json").read_bytes(),
        venue_name="Riethsporthalle Erfurt",
    )
    showtime = showtime_create(
        show=Show.objects.create(title="Handball: THSV Eisenach"),
        plan=plan,
        starts_at=timezone.now() + timedelta(days=7),
        prices={
            "Kategorie I": Decimal("39.00"),
            "Kategorie II": Decimal("29.00"),
            "VIP": Decimal("89.00"),
        },
    )
    guids = seat_guids(showtime)
    assert len(guids) == 1252
    token = jwt_for(make_user("lee"))
    base_url = asgi_server()

    with open_browser(chromium) as browser:
        page = browser.new_page(viewport=DESKTOP)
        ready_ms = open_seatmap(page, base_url, showtime.pk)
        assert seat_count(page) == 1252
        assert seat_count(page, "available") == 1252
        assert page.locator("#prices .prices__item").count() == 3
        assert page.evaluate("window.seatmap.canvas.labels") >= 1  # section names drawn
        # The file's zones overlap in absolute coordinates (SOURCES.md, "Caveats"); the importer
        # moves them apart, so no seat is drawn over another and every seat can be clicked (a
        # click on its centre picks that seat).
        overlapping, unclickable = page.evaluate("""() => {
            const c = window.seatmap.canvas;
            let n = 0; let missed = 0;
            for (let i = 0; i < c.n; i++) {
                for (let j = 0; j < c.n; j++) {
                    if (j !== i && Math.hypot(c.x[i] - c.x[j], c.y[i] - c.y[j]) < 2 * c.r) {
                        n += 1;
                        break;
                    }
                }
                if (c.seatAt(c.x[i], c.y[i]) !== i) missed += 1;
            }
            return [n, missed];
        }""")
        assert overlapping == 0
        assert unclickable == 0

        wanted = [guids[100], guids[900]]
        started = time.perf_counter()
        status, hold = post_json(
            f"{base_url}/api/v1/showtimes/{showtime.pk}/holds/", {"seats": wanted}, token
        )
        assert status == 201, hold
        for guid in wanted:
            wait_status(page, guid, "held", timeout=2000)
        hold_ms = (time.perf_counter() - started) * 1000
        assert sorted(seats_shown_as(page, "held")) == sorted(wanted)
        screenshot(page, "seatmap-riethsporthalle.png")

    record(
        riethsporthalle_seats=1252,
        riethsporthalle_ready_ms=round(ready_ms, 1),
        riethsporthalle_api_hold_visible_ms=round(hold_ms, 1),
        riethsporthalle_overlapping_seats=overlapping,
    )
