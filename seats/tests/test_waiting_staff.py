"""The waiting room for staff (issue #19 "Staff", docs/waiting-room.md "Staff"): the figures, in
the admin (change page, list, the waiting-room page with pause, resume and "admit a named
buyer"), in the sales overview's JSON and page, and at ``/metrics``."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from conftest import client_for, messages_of, seat_guids
from realtime.tests.test_browser import (  # noqa: F401  (chromium is a fixture)
    ARTIFACTS,
    DESKTOP,
    chromium,
    off_loop,
    open_browser,
    session_cookie,
)
from seats.models import QueueEntry, QueueState, Showtime
from seats.services import waiting
from seats.services.waiting import queue_admit, queue_admit_user, queue_figures, queue_join
from seats.tests.test_admin import SHOWTIMES
from ticketing.tests.axe import assert_no_serious_violations

pytestmark = pytest.mark.django_db


def queued(make_showtime, **fields) -> Showtime:
    fields.setdefault("queue_enabled", True)
    return make_showtime(**fields)


def figures_of(showtime: Showtime) -> dict[str, Any]:
    showtime.refresh_from_db()
    return queue_figures(showtime)


def queue_page(showtime: Showtime) -> str:
    return f"{SHOWTIMES}{showtime.pk}/queue/"


# --- The figures ----------------------------------------------------------------------------------


def test_the_figures_follow_joins_admissions_and_finishes(
    make_showtime, make_user, django_assert_num_queries
):
    now = timezone.now()
    showtime = queued(
        make_showtime,
        onsale_at=now + timedelta(minutes=1),
        target_active_buyers=2,
        admission_rate_per_minute=120,
        admission_window_seconds=60,
    )
    with django_assert_num_queries(2):  # the counts in one aggregate, and the state row
        assert queue_figures(showtime) == {
            "waiting": 0,
            "early": 0,
            "admitted_total": 0,
            "active": 0,
            "finished": 0,
            "target": 2,
            "rate_per_minute": 120,
            "admitting_per_minute": 120,
            "paused": False,
            "admitted_up_to": 0,
            "estimated_clear_seconds": 0,
        }
    for _ in range(3):  # the early pool
        queue_join(make_user(), showtime.pk, now=now)
    f = figures_of(showtime)
    assert (f["waiting"], f["early"], f["estimated_clear_seconds"]) == (3, 3, 2)  # ⌈3×60/120⌉

    onsale = now + timedelta(minutes=1)
    queue_join(make_user(), showtime.pk, now=onsale)  # after the on-sale: no place yet
    f = figures_of(showtime)
    assert (f["waiting"], f["early"], f["estimated_clear_seconds"]) == (4, 4, 2)

    # the admitter's step: the draw, place 4 for the late joiner, and the target admitted
    assert len(queue_admit(showtime.pk, now=onsale).admitted) == 2
    f = figures_of(showtime)
    assert (f["waiting"], f["admitted_total"], f["active"], f["admitted_up_to"]) == (2, 2, 2, 2)
    assert f["estimated_clear_seconds"] == 1

    # Neither made a hold in the window: both finish, the next two are admitted.
    assert len(queue_admit(showtime.pk, now=onsale + timedelta(seconds=60)).admitted) == 2
    f = figures_of(showtime)
    assert (f["waiting"], f["admitted_total"], f["active"], f["finished"]) == (0, 4, 2, 2)
    assert (f["admitted_up_to"], f["estimated_clear_seconds"]) == (4, 0)

    waiting.queue_pause(showtime.pk)
    queue_admit_user(showtime.pk, make_user())  # out of turn, over the target, not queued before
    waiting.queue_configure(showtime.pk, target=10, rate_per_minute=30)
    f = figures_of(showtime)
    assert (f["admitted_total"], f["active"], f["admitted_up_to"], f["paused"]) == (5, 3, 4, True)
    assert (f["target"], f["rate_per_minute"]) == (10, 30)


# --- The admin ------------------------------------------------------------------------------------


def test_the_change_page_and_the_list_show_the_figures(make_showtime, make_user, staff_client):
    showtime = queued(make_showtime, target_active_buyers=1, admission_rate_per_minute=1)
    off = make_showtime()
    for _ in range(4):
        queue_join(make_user(), showtime.pk)
    queue_admit(showtime.pk)
    page = staff_client.get(f"{SHOWTIMES}{showtime.pk}/change/").content.decode()
    for text in (
        "Waiting room now",
        "In line: 3 (of whom 0 without a place yet)",
        "Active now: 1 (target 1)",
        "Admitted so far: 1 (places up to 1)",
        "Finished: 0",
        "Rate: at most 1 admission a minute",
        "Estimated time to clear the line: about 3 minutes",
        "Admitting",
        f'href="{queue_page(showtime)}"',
    ):
        assert text in page, text
    assert "This showtime has no waiting room." in (
        staff_client.get(f"{SHOWTIMES}{off.pk}/change/").content.decode()
    )
    listing = staff_client.get(SHOWTIMES).content.decode()
    assert "3 in line, 1 active" in listing
    assert '<td class="field-queue_column">—</td>' in listing  # the showtime without a queue


def test_staff_admit_a_named_buyer_who_then_holds_with_the_pass(
    make_showtime, make_user, staff_client
):
    showtime = queued(make_showtime, target_active_buyers=1)
    first, buyer = make_user(), make_user()
    for user in (first, buyer):
        queue_join(user, showtime.pk)
    queue_admit(showtime.pk)  # the one slot goes to the first in line
    assert "Admit a named buyer" in staff_client.get(queue_page(showtime)).content.decode()

    response = staff_client.post(queue_page(showtime), {"action": "admit", "buyer": buyer.username})
    assert response.status_code == 302 and response["Location"] == queue_page(showtime)
    assert messages_of(response) == [
        f"Admitted {buyer.username} from the waiting room: they may choose seats now."
    ]
    assert (
        LogEntry.objects.filter(object_id=str(showtime.pk)).get().get_change_message()
        == (messages_of(response)[0])
    )
    client = client_for(buyer)
    status = client.get(f"/api/v1/showtimes/{showtime.pk}/queue/").json()
    assert status["state"] == "admitted" and status["pass"]
    hold = client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": seat_guids(showtime, 1)},
        format="json",
        HTTP_X_QUEUE_PASS=status["pass"],
    )
    assert hold.status_code == 201, hold.content
    assert figures_of(showtime)["active"] == 2  # over the target: staff decided


def test_admit_by_e_mail_address_a_buyer_not_in_the_queue(make_showtime, make_user, staff_client):
    showtime = queued(make_showtime)
    buyer = make_user("carol")
    response = staff_client.post(
        queue_page(showtime), {"action": "admit", "buyer": " Carol@Example.com "}
    )
    assert response.status_code == 302
    entry = QueueEntry.objects.get(showtime=showtime, user=buyer)
    assert entry.admitted_at is not None and entry.position is None


def test_an_unknown_or_ambiguous_buyer_is_a_form_error(make_showtime, make_user, staff_client):
    showtime = queued(make_showtime)
    twin_a, twin_b = make_user("twin_a"), make_user("twin_b")
    twin_b.email = twin_a.email
    twin_b.save()
    for text, error in (
        ("nobody-here", "No account has this username or e-mail address."),
        (twin_a.email, "Several accounts have this e-mail address: give the username."),
        ("", "This field is required."),
    ):
        response = staff_client.post(queue_page(showtime), {"action": "admit", "buyer": text})
        assert response.status_code == 200
        assert error in response.content.decode(), text
    assert not QueueEntry.objects.filter(showtime=showtime).exists()


def test_a_showtime_without_a_waiting_room_says_so(make_showtime, make_user, staff_client):
    showtime = make_showtime()
    buyer = make_user()
    page = staff_client.get(queue_page(showtime)).content.decode()
    assert "This showtime has no waiting room." in page and 'name="buyer"' not in page
    for action in ("admit", "pause"):
        response = staff_client.post(
            queue_page(showtime), {"action": action, "buyer": buyer.email}, follow=True
        )
        assert response.redirect_chain == [(queue_page(showtime), 302)]
        assert [str(m) for m in response.context["messages"]] == [
            "This showtime has no waiting room."
        ]
    assert not QueueEntry.objects.exists() and not QueueState.objects.exists()
    assert staff_client.get(f"{SHOWTIMES}999999/queue/").status_code == 404


def test_pause_and_resume_from_the_waiting_room_page(make_showtime, staff_client):
    showtime = queued(make_showtime)
    page = staff_client.get(queue_page(showtime)).content.decode()
    assert 'value="pause"' in page and 'value="resume"' not in page
    response = staff_client.post(queue_page(showtime), {"action": "pause"}, follow=True)
    assert QueueState.objects.get(pk=showtime.pk).paused
    page = response.content.decode()
    assert "Waiting room paused: nobody is admitted." in page
    assert "Paused: nobody is admitted" in page and 'value="resume"' in page
    staff_client.post(queue_page(showtime), {"action": "resume"})
    assert not QueueState.objects.get(pk=showtime.pk).paused


def test_only_staff_who_may_change_showtimes_use_the_page(make_showtime, make_user):
    showtime = queued(make_showtime)
    buyer = make_user()
    post = {"action": "admit", "buyer": buyer.username}

    as_buyer = Client()
    as_buyer.force_login(buyer)  # not staff: the admin's login page
    response = as_buyer.post(queue_page(showtime), post)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    viewer = make_user("viewer", staff=True)  # staff who may only view showtimes
    viewer.user_permissions.add(Permission.objects.get(codename="view_showtime"))
    as_viewer = Client()
    as_viewer.force_login(viewer)
    assert as_viewer.get(queue_page(showtime)).status_code == 403
    assert as_viewer.post(queue_page(showtime), post).status_code == 403

    boss = make_user("boss", staff=True)  # allowed, but the form comes without its CSRF token
    boss.user_permissions.add(Permission.objects.get(codename="change_showtime"))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(boss)
    assert strict.get(queue_page(showtime)).status_code == 200
    assert strict.post(queue_page(showtime), post).status_code == 403
    assert not QueueEntry.objects.filter(user=buyer).exists()


def change_form_data(showtime: Showtime, **changes: str) -> dict[str, Any]:
    """The showtime's change form as the admin would post it back, with ``changes``."""
    rows = list(showtime.prices.order_by("category__rank"))
    data: dict[str, Any] = {
        "show": showtime.show_id,
        "starts_at_0": showtime.starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": showtime.starts_at.strftime("%H:%M:%S"),
        "status": showtime.status,
        "currency": showtime.currency,
        "hold_ttl": str(showtime.hold_ttl),
        "max_seats_per_order": str(showtime.max_seats_per_order),
        "max_seats_per_buyer": "",
        "abandon_grace_seconds": str(showtime.abandon_grace_seconds),
        "max_hold_extensions": str(showtime.max_hold_extensions),
        "max_hold_seconds": str(showtime.max_hold_seconds),
        "queue_enabled": "on",
        "target_active_buyers": str(showtime.target_active_buyers),
        "admission_rate_per_minute": str(showtime.admission_rate_per_minute),
        "admission_window_seconds": str(showtime.admission_window_seconds),
        "prices-TOTAL_FORMS": str(len(rows)),
        "prices-INITIAL_FORMS": str(len(rows)),
        "prices-MIN_NUM_FORMS": "1",
        "prices-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data |= {
            f"prices-{i}-id": row.pk,
            f"prices-{i}-showtime": showtime.pk,
            f"prices-{i}-category": row.category_id,
            f"prices-{i}-price": str(row.price),
        }
    return data | changes


def test_a_new_target_and_rate_from_the_change_form_apply_at_the_next_step(
    make_showtime, make_user, staff_client
):
    now = timezone.now()
    showtime = queued(make_showtime, target_active_buyers=1, admission_rate_per_minute=6000)
    for _ in range(6):
        queue_join(make_user(), showtime.pk, now=now)
    assert len(queue_admit(showtime.pk, now=now).admitted) == 1
    url = f"{SHOWTIMES}{showtime.pk}/change/"
    data = change_form_data(showtime, target_active_buyers="6", admission_rate_per_minute="120")
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    f = figures_of(showtime)
    assert (f["target"], f["rate_per_minute"], f["estimated_clear_seconds"]) == (6, 120, 3)
    # The bucket held a second's worth at the old rate (100): now at most two seconds' worth
    # of the new one (4), then 2 a second.
    assert len(queue_admit(showtime.pk, now=now + timedelta(seconds=1)).admitted) == 4
    assert len(queue_admit(showtime.pk, now=now + timedelta(seconds=2)).admitted) == 1  # target
    assert figures_of(showtime)["active"] == 6
    refused = staff_client.post(url, data | {"admission_rate_per_minute": "0"})
    assert refused.status_code == 200 and figures_of(showtime)["rate_per_minute"] == 120


# --- The sales overview ---------------------------------------------------------------------------


def test_the_sales_overview_shows_the_queue_figures(make_showtime, make_user, staff_client):
    showtime = queued(make_showtime, target_active_buyers=2, admission_rate_per_minute=60)
    off = make_showtime()
    for _ in range(5):
        queue_join(make_user(), showtime.pk)
    queue_admit(showtime.pk)  # one a second at 60 a minute
    staff = client_for(make_user("manager", staff=True))
    body = staff.get(f"/api/v1/showtimes/{showtime.pk}/sales/").json()
    assert body["queue"] == {
        "waiting": 4,
        "early": 0,
        "admitted_total": 1,
        "active": 1,
        "finished": 0,
        "target": 2,
        "rate_per_minute": 60,
        "admitting_per_minute": 60,
        "paused": False,
        "admitted_up_to": 1,
        "estimated_clear_seconds": 4,  # ⌈4 × 60 / 60⌉
    }
    assert staff.get(f"/api/v1/showtimes/{off.pk}/sales/").json()["queue"] is None

    page = staff_client.get(f"/staff/showtimes/{showtime.pk}/sales/").content.decode()
    assert 'id="sales-queue"' in page and "Estimated time to clear the line" in page
    assert (
        'id="sales-queue"'
        not in staff_client.get(f"/staff/showtimes/{off.pk}/sales/").content.decode()
    )
    thai = staff_client.get(
        f"/staff/showtimes/{showtime.pk}/sales/", HTTP_ACCEPT_LANGUAGE="th"
    ).content.decode()
    assert "เวลาโดยประมาณจนหมดคิว" in thai and "Estimated time" not in thai


def test_the_admin_figures_in_thai(make_showtime, make_user, staff_client):
    showtime = queued(make_showtime, target_active_buyers=1)
    queue_join(make_user(), showtime.pk)
    queue_join(make_user(), showtime.pk)
    queue_admit(showtime.pk)  # places for both, one admitted
    page = staff_client.get(
        f"{SHOWTIMES}{showtime.pk}/change/", HTTP_ACCEPT_LANGUAGE="th"
    ).content.decode()
    assert "รอคิว: 1 คน (ยังไม่ได้ลำดับคิว 0 คน)" in page
    assert "เวลาโดยประมาณจนหมดคิว: ไม่ถึงหนึ่งนาที" in page
    queue = staff_client.get(queue_page(showtime), HTTP_ACCEPT_LANGUAGE="th").content.decode()
    assert "ให้ผู้ซื้อที่ระบุชื่อเข้า" in queue and "Admit a named buyer" not in queue


# --- /metrics -------------------------------------------------------------------------------------


def test_metrics_export_the_figures_of_each_queued_showtime(make_showtime, make_user, client):
    showtime = queued(make_showtime, target_active_buyers=2, admission_rate_per_minute=60)
    off = make_showtime()
    for _ in range(4):
        queue_join(make_user(), showtime.pk)
    queue_admit(showtime.pk)
    waiting.queue_pause(showtime.pk)
    lines = set(client.get("/metrics").content.decode().splitlines())
    label = f'{{showtime="{showtime.pk}"}}'
    for line in (
        f"seatline_queue_waiting{label} 3.0",
        f"seatline_queue_early{label} 0.0",
        f"seatline_queue_active{label} 1.0",
        f"seatline_queue_admitted_total{label} 1.0",
        f"seatline_queue_finished_total{label} 0.0",
        f"seatline_queue_target{label} 2.0",
        f"seatline_queue_rate_per_minute{label} 60.0",
        f"seatline_queue_paused{label} 1.0",
        f"seatline_queue_admitted_up_to{label} 1.0",
        f"seatline_queue_estimated_clear_seconds{label} 3.0",
    ):
        assert line in lines, line
    assert not any(f'showtime="{off.pk}"' in line for line in lines)


# --- In a real browser ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sales_page_follows_the_queue_in_the_browser(
    asgi_server,
    chromium,  # noqa: F811 (the imported fixture)
    make_showtime,
    make_user,
    staff,
):
    """The sales page's waiting-room cards, filled by its script from the JSON, and refreshed by
    the ``queue.progress`` frame of the server's own admitter once staff resume admission."""
    showtime = queued(make_showtime, admission_rate_per_minute=600)
    for _ in range(3):
        queue_join(make_user(), showtime.pk)
    waiting.queue_pause(showtime.pk)
    base_url = asgi_server()  # its admitter runs (QUEUE_ADMITTER_IN_WEB), paused: admits nobody
    cookie = session_cookie(staff, base_url)
    with open_browser(chromium) as browser:
        context = browser.new_context(viewport=DESKTOP)
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(f"{base_url}/staff/showtimes/{showtime.pk}/sales/")
        page.wait_for_selector("#sales-live[data-state=live]", timeout=5000)
        page.wait_for_function("document.getElementById('queue-state').textContent === 'paused'")
        assert page.inner_text("#queue-waiting") == "3"
        assert page.inner_text("#queue-active") == "0 / 500"
        assert page.inner_text("#queue-rate") == "600"
        assert page.inner_text("#queue-clear") == "less than a minute"  # ⌈3 × 60 / 600⌉ = 1 s
        page.screenshot(path=str(ARTIFACTS / "sales-queue.png"), full_page=True)
        assert_no_serious_violations(page, "the sales overview with a waiting room")
        off_loop(waiting.queue_resume, showtime.pk)
        page.wait_for_function(
            "document.getElementById('queue-waiting').textContent === '0'", timeout=10000
        )
        assert page.inner_text("#queue-active") == "3 / 500"
        assert page.inner_text("#queue-admitted") == "3"
        assert page.inner_text("#queue-state") == "admitting"
        assert page.inner_text("#queue-clear") == "—"
