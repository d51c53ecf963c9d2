"""The waiting room page in a browser (issue #19, docs/waiting-room.md "The queue page"): Playwright
drives Debian's Chromium against a real server process (``asgi_server``, which runs the admitter
in its loop: ``QUEUE_ADMITTER_IN_WEB``). A buyer opens a queued showtime, gets the queue page,
sees their place fall as others are admitted (staff raise the target through the services; the
server's admitter step admits and broadcasts ``queue.progress``), is admitted, and holds a seat
with the pass the page kept."""

import time

import pytest

from conftest import seat_guids
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    DESKTOP,
    chromium,
    click_seat,
    off_loop,
    open_browser,
    screenshot,
    session_cookie,
    wait_status,
)
from seats.models import Hold, QueueEntry
from seats.services.waiting import queue_configure, queue_join

pytestmark = pytest.mark.django_db(transaction=True)


def wait_place(page, text: str, timeout: float = 10000):
    page.wait_for_function(
        "(text) => document.getElementById('queue-place').textContent === text",
        arg=text,
        timeout=timeout,
    )


def test_a_buyer_waits_sees_the_place_fall_is_admitted_and_holds_a_seat(
    chromium,  # noqa: F811 (the imported fixture)
    asgi_server,
    make_showtime,
    make_user,
):
    showtime = make_showtime(
        queue_enabled=True, target_active_buyers=1, admission_rate_per_minute=6000
    )
    first, second, carol = make_user(), make_user(), make_user()
    queue_join(first, showtime.pk)
    queue_join(second, showtime.pk)
    (seat,) = seat_guids(showtime, 1)
    base_url = asgi_server(env={"QUEUE_ADMITTER_SECONDS": "0.5"})
    cookie = session_cookie(carol, base_url)
    deadline = time.monotonic() + 10  # the server's admitter admits the first (target 1)
    while not QueueEntry.objects.filter(user=first, admitted_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the server's admitter did not admit"
        time.sleep(0.1)

    with open_browser(chromium) as browser:
        ctx = browser.new_context(viewport=DESKTOP)
        ctx.add_cookies([cookie])
        page = ctx.new_page()
        page.goto(f"{base_url}/showtimes/{showtime.pk}/")
        assert page.locator("#seatmap-app").count() == 0  # the queue page, not the map
        wait_place(page, "2")  # third in line, the first admitted
        assert page.inner_text("#queue-admitted") == "1"
        assert page.get_attribute("#queue-app", "data-state") == "waiting"
        screenshot(page, "queue-waiting.png")

        off_loop(queue_configure, showtime.pk, target=2)  # room for one more: the second
        wait_place(page, "1")
        assert page.inner_text("#queue-admitted") == "2"
        assert int(page.get_attribute("#queue-progress", "value") or 0) == 50

        off_loop(queue_configure, showtime.pk, target=3)  # carol's turn
        page.wait_for_selector('#seatmap-app[data-ready="true"]', state="attached", timeout=15000)
        assert page.evaluate(f"() => sessionStorage.getItem('seatline.queuePass.{showtime.pk}')"), (
            "the page kept the pass"
        )
        click_seat(page, seat)
        wait_status(page, seat, "mine")
        screenshot(page, "queue-admitted-held.png")

    hold = off_loop(lambda: Hold.objects.get(user=carol, showtime=showtime))
    assert hold.status == "active"


def test_the_queue_page_speaks_thai(client, make_showtime, make_user):
    from datetime import timedelta

    from django.utils import timezone

    showtime = make_showtime(queue_enabled=True, onsale_at=timezone.now() + timedelta(hours=1))
    client.force_login(make_user())
    page = client.get(f"/showtimes/{showtime.pk}/?lang=th").content.decode()
    assert "ลำดับคิวของคุณ" in page and "queue.js" in page
    assert "การเปิดขายเริ่มเวลา" in page  # when the on-sale opens, and that early is no edge
    assert 'id="seatmap-app"' not in page


def test_an_admitted_buyer_gets_the_map_with_the_pass(client, make_showtime, make_user):
    from seats.services.waiting import queue_admit_user

    showtime = make_showtime(queue_enabled=True)
    buyer = make_user()
    queue_admit_user(showtime.pk, buyer)
    client.force_login(buyer)
    page = client.get(f"/showtimes/{showtime.pk}/").content.decode()
    assert 'id="seatmap-app"' in page and 'data-queue-pass="' in page
    assert 'data-queue-pass=""' not in page


def test_a_buyer_whose_pass_ran_out_gets_the_queue_page_not_the_map(
    client, make_showtime, make_user
):
    from datetime import timedelta

    from django.utils import timezone

    from seats.services.waiting import queue_admit_user

    showtime = make_showtime(queue_enabled=True)
    buyer = make_user()
    entry = queue_admit_user(showtime.pk, buyer)
    # the pass ran out before the admitter's next step ended the turn
    QueueEntry.objects.filter(pk=entry.pk).update(
        pass_expires_at=timezone.now() - timedelta(seconds=1)
    )
    client.force_login(buyer)
    page = client.get(f"/showtimes/{showtime.pk}/").content.decode()
    assert 'id="seatmap-app"' not in page and 'id="queue-app"' in page
    status = client.get(f"/api/v1/showtimes/{showtime.pk}/queue/").json()
    assert status["state"] == "finished" and status["pass"] is None


def test_without_a_queue_the_map_as_before(client, make_showtime, make_user):
    showtime = make_showtime()
    client.force_login(make_user())
    page = client.get(f"/showtimes/{showtime.pk}/").content.decode()
    assert 'id="seatmap-app"' in page and 'data-queue-pass=""' in page
