"""The staff side in the Django admin (seats/admin/): plan upload, showtimes with inventory,
blocking seats, force-releasing holds and the view-only audit trail.

Through Django's test ``Client`` signed in as a superuser staff member, against the real database;
the broadcast of a block is received on a real WebSocket (``WebsocketCommunicator``).
"""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import messages_of, seat_guids, seat_labels, small_plan
from core.errors import ApplicationError
from seats import services
from seats.importer import plan_import
from seats.models import (
    Hold,
    PlanCategory,
    Seat,
    SeatEvent,
    SeatingPlan,
    Show,
    Showtime,
    ShowtimeSeat,
    Venue,
)
from seats.selectors import showtime_counts
from seats.services import hold_create, seats_block

PLANS = "/admin/seats/seatingplan/"
SHOWTIMES = "/admin/seats/showtime/"
SEATS = "/admin/seats/showtimeseat/"
HOLDS = "/admin/seats/hold/"
EVENTS = "/admin/seats/seatevent/"


def choose(client, url, action, pks, **extra):
    """The changelist POST that picks an action (the "Go" button): answers its confirmation page
    (or, for actions without one, performs it)."""
    return client.post(
        url, {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0", **extra}
    )


def confirm(client, url, action, pks, **extra):
    """The POST of a confirmation page's "Yes" button."""
    return client.post(
        url,
        {
            "action": action,
            "_selected_action": [str(pk) for pk in pks],
            "select_across": "0",
            "post": "yes",
            **extra,
        },
    )


def seat_rows(showtime, *labels) -> list[ShowtimeSeat]:
    rows = {
        r.seat.label: r
        for r in ShowtimeSeat.objects.filter(showtime=showtime).select_related("seat")
    }
    return [rows[label] for label in labels]


def statuses(showtime) -> dict[str, str]:
    return dict(ShowtimeSeat.objects.filter(showtime=showtime).values_list("seat__label", "status"))


# --- Seating plans --------------------------------------------------------------------------------


def upload(client, content: bytes, venue: Venue, name: str = ""):
    return client.post(
        PLANS + "add/",
        {
            "venue": venue.pk,
            "name": name,
            "plan_file": SimpleUploadedFile("plan.json", content, content_type="application/json"),
        },
    )


def test_plan_upload_creates_the_plan_and_the_changelist_shows_its_counts(staff_client):
    venue = Venue.objects.create(name="Main hall")
    response = upload(
        staff_client,
        json.dumps(small_plan(rows=3, seats_per_row=4)).encode(),
        venue,
        name="Evening layout",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = SeatingPlan.objects.get()
    assert (plan.venue, plan.name) == (venue, "Evening layout")
    assert plan.seats.count() == 12
    assert list(plan.categories.values_list("name", flat=True)) == ["Front", "Back"]
    assert "Imported 12 seats in 1 zone and 2 categories" in " ".join(messages_of(response))

    listing = staff_client.get(PLANS)
    (row,) = listing.context["cl"].result_list
    assert (row.seats_n, row.zones_n, row.categories_n) == (12, 1, 2)

    page = staff_client.get(f"{PLANS}{plan.pk}/change/")  # read-only, with the categories
    assert page.status_code == 200
    assert "Front" in page.content.decode() and "Back" in page.content.decode()
    assert staff_client.post(f"{PLANS}{plan.pk}/change/", {"name": "x"}).status_code == 403


def test_the_real_venue_plan_uploads_through_the_admin(staff_client, shared_venues):
    """426 KB: over the API's 64 KiB body limit, within the admin's."""
    venue = Venue.objects.create(name="Riethsporthalle")
    response = upload(staff_client, (shared_venues / "riethsporthalle.json").read_bytes(), venue)
    assert response.status_code == 302
    assert SeatingPlan.objects.get(venue=venue).seats.count() == 1252


def test_plan_upload_without_a_name_uses_the_files_name(staff_client):
    venue = Venue.objects.create(name="Main hall")
    assert upload(staff_client, json.dumps(small_plan()).encode(), venue).status_code == 302
    assert SeatingPlan.objects.get().name == "Small hall"


def _unknown_category():
    plan = small_plan()
    plan["zones"][0]["rows"][1]["seats"][2]["category"] = "Gold"
    return json.dumps(plan).encode()


def _missing_guid():
    plan = small_plan()
    del plan["zones"][0]["rows"][1]["seats"][3]["seat_guid"]
    return json.dumps(plan).encode()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{nope", "The file is not JSON"),
        (_unknown_category(), "Seats name unknown categories: Gold."),
        (_missing_guid(), "zones[0].rows[1].seats[3]: missing key &#x27;seat_guid&#x27;."),
        (json.dumps({"zones": [], "categories": []}).encode(), "The plan has no seats."),
    ],
)
def test_a_broken_plan_file_is_refused_with_the_problem_and_writes_nothing(
    staff_client, content, problem
):
    venue = Venue.objects.create(name="Main hall")
    response = upload(staff_client, content, venue)
    assert response.status_code == 200
    assert problem in response.content.decode()
    assert "Nothing was imported." in response.content.decode()
    assert response.context["adminform"].form.errors["plan_file"]
    assert not SeatingPlan.objects.exists() and not Seat.objects.exists()
    assert not PlanCategory.objects.exists()


def test_a_second_plan_of_the_same_name_is_refused(staff_client):
    plan_import(raw=small_plan(), venue_name="Main hall", plan_name="Layout")
    response = upload(
        staff_client,
        json.dumps(small_plan()).encode(),
        Venue.objects.get(name="Main hall"),
        name="Layout",
    )
    assert response.status_code == 200
    assert "already has a seating plan named" in response.content.decode()
    assert SeatingPlan.objects.count() == 1 and Seat.objects.count() == 10


def test_plan_changelist_queries_do_not_grow_with_the_number_of_plans(staff_client):
    plan_import(raw=small_plan(), venue_name="V1")
    with CaptureQueriesContext(connection) as one:
        assert staff_client.get(PLANS).status_code == 200
    plan_import(raw=small_plan(), venue_name="V2")
    plan_import(raw=small_plan(), venue_name="V3")
    with CaptureQueriesContext(connection) as three:
        assert staff_client.get(PLANS).status_code == 200
    assert len(three.captured_queries) == len(one.captured_queries)


# --- Showtimes ------------------------------------------------------------------------------------


def showtime_form(show, plan, prices, **fields) -> dict:
    """The add form's POST data with ``prices`` = [(category, "12.00")] as inline rows; ``fields``
    override the showtime's fields (``hold_ttl="0"``)."""
    data = {
        "show": show.pk,
        "plan": plan.pk,
        "starts_at_0": "2031-05-01",
        "starts_at_1": "20:00:00",
        "status": "on_sale",
        "currency": "EUR",
        "hold_ttl": "300",
        "max_seats_per_order": "10",
        "abandon_grace_seconds": "45",
        "max_hold_extensions": "1",
        "max_hold_seconds": "600",
        "sales_start_0": "",
        "sales_start_1": "",
        "sales_end_0": "",
        "sales_end_1": "",
        "prices-TOTAL_FORMS": str(len(prices)),
        "prices-INITIAL_FORMS": "0",
        "prices-MIN_NUM_FORMS": "1",
        "prices-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for i, (category, price) in enumerate(prices):
        data[f"prices-{i}-category"] = category.pk
        data[f"prices-{i}-price"] = price
    return data


def inventory(showtime) -> list[tuple]:
    """What a buyer and the services see of a showtime's seats, comparable across showtimes."""
    return list(
        ShowtimeSeat.objects.filter(showtime=showtime)
        .order_by("seat_id")
        .values_list("seat_id", "status", "version", "expires_at", "block_reason")
    )


def test_a_showtime_added_in_the_admin_equals_one_made_by_the_service(staff_client, settings):
    """The add page starts from the service's defaults, and what it writes (through
    ``showtime_create``) is what the service writes: same inventory, prices and sales rules."""
    settings.HOLD_TTL_SECONDS, settings.MAX_SEATS_PER_ORDER = 240, 6
    plan = plan_import(raw=small_plan(rows=3, seats_per_row=4), venue_name="Main hall")
    show = Show.objects.create(title="Gala")
    front, back = plan.categories.order_by("rank")

    page = staff_client.get(f"{SHOWTIMES}add/?plan={plan.pk}")  # prices pre-filled per category
    formset = page.context["inline_admin_formsets"][0].formset
    assert [f.initial.get("category") for f in formset.forms] == [front.pk, back.pk]
    form = page.context["adminform"].form
    defaults = {name: form[name].initial for name in ("hold_ttl", "max_seats_per_order")}
    assert defaults == {"hold_ttl": 240, "max_seats_per_order": 6}

    response = staff_client.post(
        f"{SHOWTIMES}add/",
        showtime_form(show, plan, [(front, "80.00"), (back, "40.00")], **defaults),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert "Created the inventory: 12 seats." in messages_of(response)
    added = Showtime.objects.get()
    assert response.url == SHOWTIMES  # logged and redirected as any addition
    (entry,) = LogEntry.objects.all()
    assert (entry.object_id, entry.is_addition()) == (str(added.pk), True)

    made = services.showtime_create(
        show=show,
        plan=plan,
        starts_at=added.starts_at,
        prices={"Front": Decimal("80"), "Back": Decimal("40")},
        abandon_grace_seconds=45,
        max_hold_extensions=1,
        max_hold_seconds=600,
    )
    assert inventory(added) == inventory(made)
    assert len(inventory(added)) == plan.seats.count() == 12
    for showtime in (added, made):
        assert dict(showtime.prices.values_list("category__name", "price")) == {
            "Front": 80,
            "Back": 40,
        }
    rules = (
        "status",
        "currency",
        "hold_ttl",
        "max_seats_per_order",
        "max_seats_per_buyer",
        "forbid_single_seats",
        "sales_start",
        "sales_end",
        "abandon_grace_seconds",
        "max_hold_extensions",
        "max_hold_seconds",
    )
    assert [getattr(added, f) for f in rules] == [getattr(made, f) for f in rules]
    assert showtime_counts(added.pk) == showtime_counts(made.pk)


def test_the_admin_creates_showtimes_through_the_service(staff_client, monkeypatch):
    """The add path calls ``seats.services.showtime_create`` with the form's fields and prices."""
    plan = plan_import(raw=small_plan(), venue_name="Main hall")
    show = Show.objects.create(title="Gala")
    front, back = plan.categories.order_by("rank")
    calls: list[dict[str, Any]] = []
    create = services.showtime_create

    def spy(**kwargs: Any) -> Showtime:
        calls.append(kwargs)
        return create(**kwargs)

    monkeypatch.setattr(services, "showtime_create", spy)
    response = staff_client.post(
        f"{SHOWTIMES}add/",
        showtime_form(
            show,
            plan,
            [(front, "80.00"), (back, "40.50")],
            max_seats_per_buyer="12",
            forbid_single_seats="on",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    (call,) = calls
    assert call["prices"] == {"Front": Decimal("80.00"), "Back": Decimal("40.50")}
    assert (
        call["show"],
        call["plan"],
        call["max_seats_per_buyer"],
        call["forbid_single_seats"],
    ) == (show, plan, 12, True)
    assert Showtime.objects.get().forbid_single_seats


# What the service refuses, as the admin's form data and as the service's arguments.
REFUSED: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "missing price": (
        {"prices": [("Front", "80.00")]},
        {"prices": {"Front": Decimal("80")}},
        "No price for: Back.",
    ),
    "negative price": (
        {"prices": [("Front", "-1.00"), ("Back", "40.00")]},
        {"prices": {"Front": Decimal("-1"), "Back": Decimal("40")}},
        "Prices cannot be negative: Front.",
    ),
    "buyer cap below the order cap": (
        {"max_seats_per_order": "4", "max_seats_per_buyer": "2"},
        {"max_seats_per_order": 4, "max_seats_per_buyer": 2},
        "At least max seats per order",
    ),
    "hold of no time": (
        {"hold_ttl": "0"},
        {"hold_ttl": 0},
        "Ensure this value is greater than or equal to 1.",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_the_admin_refuses_what_the_service_refuses_with_a_form_error(staff_client, case):
    plan = plan_import(raw=small_plan(), venue_name="Main hall")
    show = Show.objects.create(title="Gala")
    categories = {c.name: c for c in plan.categories.all()}
    form, arguments, problem = REFUSED[case]
    form = {"prices": [("Front", "80.00"), ("Back", "40.00")], **form}
    arguments = {"prices": {"Front": Decimal("80"), "Back": Decimal("40")}, **arguments}

    with pytest.raises(ApplicationError) as refused:
        services.showtime_create(show=show, plan=plan, starts_at=timezone.now(), **arguments)
    assert refused.value.code == "validation_error"
    assert problem in str(refused.value.details)

    prices = [(categories[name], price) for name, price in form.pop("prices")]
    response = staff_client.post(f"{SHOWTIMES}add/", showtime_form(show, plan, prices, **form))
    assert response.status_code == 200
    assert problem in response.content.decode()
    assert not Showtime.objects.exists() and not ShowtimeSeat.objects.exists()


@pytest.mark.parametrize("case", ["foreign", "duplicate"])
def test_showtime_price_rows_must_name_categories_of_its_plan_once(staff_client, case):
    plan = plan_import(raw=small_plan(), venue_name="Main hall")
    other = plan_import(raw=small_plan(), venue_name="Other hall")
    show = Show.objects.create(title="Gala")
    front, back = plan.categories.order_by("rank")
    prices, problem = {
        "foreign": (
            [(front, "80.00"), (other.categories.get(name="Back"), "40.00")],
            "These categories belong to another seating plan: Back (Other hall",
        ),
        "duplicate": (
            [(front, "80.00"), (back, "40.00"), (back, "45.00")],
            "Please correct the duplicate data for category.",
        ),
    }[case]
    response = staff_client.post(f"{SHOWTIMES}add/", showtime_form(show, plan, prices))
    assert response.status_code == 200
    assert problem in response.content.decode()
    assert not Showtime.objects.exists() and not ShowtimeSeat.objects.exists()


def test_changing_a_showtime_keeps_its_plan_and_checks_its_prices(staff_client, showtime):
    """After creation staff change the sales rules and prices; the plan is fixed, and the prices
    follow the same rules as on creation."""
    url = f"{SHOWTIMES}{showtime.pk}/change/"
    rows = list(showtime.prices.select_related("category").order_by("category__rank"))
    data = {
        "show": showtime.show_id,
        "starts_at_0": "2031-05-02",
        "starts_at_1": "21:00:00",
        "status": "closed",
        "currency": "EUR",
        "hold_ttl": "120",
        "max_seats_per_order": "4",
        "max_seats_per_buyer": "",
        "abandon_grace_seconds": "0",
        "max_hold_extensions": "2",
        "max_hold_seconds": "900",
        "sales_start_0": "",
        "sales_start_1": "",
        "sales_end_0": "",
        "sales_end_1": "",
        "prices-TOTAL_FORMS": str(len(rows)),
        "prices-INITIAL_FORMS": str(len(rows)),
        "prices-MIN_NUM_FORMS": "1",
        "prices-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update(
            {
                f"prices-{i}-id": row.pk,
                f"prices-{i}-showtime": showtime.pk,
                f"prices-{i}-category": row.category_id,
                f"prices-{i}-price": "55.00",
            }
        )
    data["prices-0-price"] = "-5.00"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "Prices cannot be negative: Front." in response.content.decode()

    data["prices-0-price"] = "90.00"
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    showtime.refresh_from_db()
    assert (showtime.status, showtime.hold_ttl, showtime.max_seats_per_order) == ("closed", 120, 4)
    assert dict(showtime.prices.values_list("category__name", "price")) == {"Front": 90, "Back": 55}
    assert ShowtimeSeat.objects.filter(showtime=showtime).count() == 10  # inventory untouched


def test_showtime_changelist_counts_sold_held_and_available(
    staff_client, make_showtime, buyer, clock
):
    from orders.services import order_create, order_pay

    showtime = make_showtime()
    other = make_showtime()
    guids = seat_guids(showtime)
    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=guids[:2]).hold
    order = order_create(
        user=buyer,
        hold_id=hold.pk,
        payment_method="card",
        customer={"name": "Alice", "email": "alice@example.com"},
    ).order
    order_pay(user=buyer, order_id=order.pk)
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=guids[2:5])
    with CaptureQueriesContext(connection) as queries:
        listing = staff_client.get(SHOWTIMES)
    rows = {s.pk: s for s in listing.context["cl"].result_list}
    assert (rows[showtime.pk].sold_n, rows[showtime.pk].held_n, rows[showtime.pk].available_n) == (
        2,
        3,
        5,
    )
    assert (rows[other.pk].sold_n, rows[other.pk].held_n, rows[other.pk].available_n) == (0, 0, 10)
    assert len(queries.captured_queries) < 15

    clock.advance(showtime.hold_ttl + 1)  # the hold lapsed: its seats count as available
    rows = {s.pk: s for s in staff_client.get(SHOWTIMES).context["cl"].result_list}
    assert (rows[showtime.pk].held_n, rows[showtime.pk].available_n) == (0, 8)
    assert rows[showtime.pk].available_n == showtime_counts(showtime.pk)["available"]


def test_showtime_page_links_to_its_seats_and_audit_trail(staff_client, showtime, buyer):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 2))
    page = staff_client.get(f"{SHOWTIMES}{showtime.pk}/change/").content.decode()
    assert f'href="{EVENTS}?showtime__id__exact={showtime.pk}"' in page
    assert "Audit trail (2)" in page
    assert f'href="{SEATS}?showtime__id__exact={showtime.pk}"' in page
    trail = staff_client.get(EVENTS, {"showtime__id__exact": showtime.pk})
    assert trail.context["cl"].result_count == 2


# --- Blocking seats -------------------------------------------------------------------------------


def test_block_selected_seats_with_a_reason_skips_the_held_one(
    staff_client, staff, showtime, buyer, django_capture_on_commit_callbacks
):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1))
    rows = seat_rows(showtime, "Hall A-1", "Hall A-2", "Hall A-3")
    pks = [r.pk for r in rows]

    page = choose(staff_client, SEATS, "block_seats", pks)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hall A-1 — held" in html and "Hall A-2 — available" in html
    assert 'name="reason"' in html
    assert statuses(showtime)["Hall A-2"] == "available"  # nothing happens before "Yes"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = confirm(staff_client, SEATS, "block_seats", pks, reason="Camera platform")
    assert response.status_code == 302
    assert messages_of(response) == [
        "Blocked 2 seats.",
        "Skipped 1 seat that is held, reserved, sold or already blocked: Hall A-1",
    ]
    now = statuses(showtime)
    assert (now["Hall A-1"], now["Hall A-2"], now["Hall A-3"]) == ("held", "blocked", "blocked")
    assert set(
        ShowtimeSeat.objects.filter(status="blocked").values_list("block_reason", flat=True)
    ) == {"Camera platform"}
    events = SeatEvent.objects.filter(reason="blocked")
    assert [
        (e.showtime_seat.seat.label, e.from_status, e.to_status, e.actor_kind, e.actor, e.note)
        for e in events.order_by("showtime_seat_id")
    ] == [
        ("Hall A-2", "available", "blocked", "staff", staff, "Camera platform"),
        ("Hall A-3", "available", "blocked", "staff", staff, "Camera platform"),
    ]
    assert callbacks  # the seats.changed broadcast ran after commit


def test_block_needs_a_reason(staff_client, showtime):
    pks = [r.pk for r in seat_rows(showtime, "Hall A-1")]
    response = confirm(staff_client, SEATS, "block_seats", pks, reason="")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert statuses(showtime)["Hall A-1"] == "available"
    assert not SeatEvent.objects.exists()


def test_block_whole_row_of_the_selected_seats(staff_client, showtime, buyer):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime)[3:4])
    pks = [r.pk for r in seat_rows(showtime, "Hall A-2")]
    page = choose(staff_client, SEATS, "block_rows", pks)
    assert "Hall, row A — 5 seats, 4 available now" in page.content.decode()

    response = confirm(staff_client, SEATS, "block_rows", pks, reason="Sound desk")
    assert messages_of(response) == [
        "Blocked 4 seats.",
        "Skipped 1 seat that is held, reserved, sold or already blocked: Hall A-4",
    ]
    now = statuses(showtime)
    assert [now[f"Hall A-{n}"] for n in range(1, 6)] == ["blocked"] * 3 + ["held", "blocked"]
    assert {now[f"Hall B-{n}"] for n in range(1, 6)} == {"available"}


def test_block_whole_zone_of_the_selected_seats(staff_client, make_showtime):
    showtime, other = make_showtime(), make_showtime()
    seats_block(
        showtime_id=showtime.pk, seat_pks=[seat_rows(showtime, "Hall B-5")[0].pk], reason="Broken"
    )
    pks = [r.pk for r in seat_rows(showtime, "Hall B-1")]
    page = choose(staff_client, SEATS, "block_zones", pks)
    assert "zone Hall — 10 seats, 9 available now" in page.content.decode()

    response = confirm(staff_client, SEATS, "block_zones", pks, reason="Private event")
    assert messages_of(response) == [
        "Blocked 9 seats.",
        "Skipped 1 seat that is held, reserved, sold or already blocked: Hall B-5",
    ]
    assert set(statuses(showtime).values()) == {"blocked"}
    assert set(statuses(other).values()) == {"available"}  # the same zone of another showtime


def test_block_all_seats_of_a_filtered_changelist(staff_client, make_showtime):
    """ "Select all N" on a changelist filtered by showtime: the confirmation page posts back the
    filter (in its URL) and ``select_across``, and only that showtime's seats are blocked."""
    showtime, other = make_showtime(), make_showtime()
    url = f"{SEATS}?showtime__id__exact={showtime.pk}"
    one = [seat_rows(showtime, "Hall A-1")[0].pk]
    page = choose(staff_client, url, "block_seats", one, select_across="1")
    assert "10 seats" in page.content.decode()
    assert 'name="select_across" value="1"' in page.content.decode()
    response = staff_client.post(
        url,
        {
            "action": "block_seats",
            "_selected_action": one,
            "select_across": "1",
            "post": "yes",
            "reason": "Closed",
        },
    )
    assert messages_of(response) == ["Blocked 10 seats."]
    assert set(statuses(showtime).values()) == {"blocked"}
    assert set(statuses(other).values()) == {"available"}


def test_unblock_selected_seats(staff_client, staff, showtime):
    blocked = seat_rows(showtime, "Hall A-1", "Hall A-2")
    seats_block(showtime_id=showtime.pk, seat_pks=[r.pk for r in blocked], reason="Broken")
    pks = [r.pk for r in blocked] + [seat_rows(showtime, "Hall A-3")[0].pk]
    response = choose(staff_client, SEATS, "unblock_seats", pks)
    assert response.status_code == 302
    assert messages_of(response) == [
        "Unblocked 2 seats.",
        "Skipped 1 seat that is not blocked: Hall A-3",
    ]
    assert set(statuses(showtime).values()) == {"available"}
    assert not ShowtimeSeat.objects.exclude(block_reason="").exists()
    assert (
        list(
            SeatEvent.objects.filter(reason="unblocked").values_list(
                "from_status", "to_status", "actor_kind", "actor"
            )
        )
        == [("blocked", "available", "staff", staff.pk)] * 2
    )


def test_a_lost_race_while_blocking_is_reported_not_a_500(staff_client, showtime, monkeypatch):
    def busy(**kwargs):
        raise ApplicationError("busy", "These seats are being changed right now.")

    monkeypatch.setattr(services, "seats_block", busy)
    pks = [r.pk for r in seat_rows(showtime, "Hall A-1")]
    response = confirm(staff_client, SEATS, "block_seats", pks, reason="x")
    assert response.status_code == 302
    assert messages_of(response) == [
        f"{showtime}: no seats were blocked: These seats are being changed right now.",
        "Blocked 0 seats.",
    ]
    assert statuses(showtime)["Hall A-1"] == "available"


def test_staff_without_the_change_permission_cannot_block(make_user, showtime):
    viewer = make_user("viewer", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_showtimeseat"))
    client = Client()
    client.force_login(viewer)
    listing = client.get(SEATS)
    assert listing.status_code == 200
    assert "block_seats" not in listing.content.decode()
    pks = [r.pk for r in seat_rows(showtime, "Hall A-1")]
    confirm(client, SEATS, "block_seats", pks, reason="x")
    assert statuses(showtime)["Hall A-1"] == "available"


def test_seat_list_filters_search_and_read_only_seat_page(staff_client, showtime, buyer):
    listing = staff_client.get(
        SEATS,
        {
            "showtime__id__exact": showtime.pk,
            "seat__zone": "Hall",
            "seat__category__name": "Back",
            "status": "available",
        },
    )
    assert sorted(r.seat.label for r in listing.context["cl"].result_list) == [
        f"Hall B-{n}" for n in range(1, 6)
    ]
    found = staff_client.get(SEATS, {"q": "Hall A-3"}).context["cl"].result_list
    assert [r.seat.label for r in found] == ["Hall A-3"]

    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1))
    seat = seat_rows(showtime, "Hall A-1")[0]
    page = staff_client.get(f"{SEATS}{seat.pk}/change/")
    assert page.status_code == 200
    (inline,) = page.context["inline_admin_formsets"]
    assert [e.reason for e in inline.formset.queryset] == ["held"]
    assert staff_client.post(f"{SEATS}{seat.pk}/change/", {}).status_code == 403
    assert staff_client.get(f"{SEATS}add/").status_code == 403
    assert staff_client.get(f"{SEATS}{seat.pk}/delete/").status_code == 403


async def test_block_from_the_admin_is_broadcast_as_seats_changed(
    transactional_db, showtime, staff
):
    """A real socket on the seat map receives the block as one ``seats.changed`` frame."""
    from ticketing.asgi import application

    ws = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime.pk}/",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")],
    )
    assert (await ws.connect())[0]
    assert json.loads(await ws.receive_from(timeout=3))["type"] == "snapshot"

    def block_two():
        rows = seat_rows(showtime, "Hall A-1", "Hall A-2")
        client = Client()
        client.force_login(staff)
        response = confirm(client, SEATS, "block_seats", [r.pk for r in rows], reason="Camera")
        return response.status_code, [str(r.seat.guid) for r in rows]

    status, guids = await database_sync_to_async(block_two)()
    assert status == 302
    frame = json.loads(await ws.receive_from(timeout=3))
    assert frame["type"] == "seats.changed" and frame["reason"] == "blocked"
    assert frame["showtime"] == showtime.pk
    labels = await database_sync_to_async(seat_labels)(showtime)
    assert frame["seats"] == [
        {"id": g, "label": labels[g], "status": "blocked", "version": 2} for g in guids
    ]
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


# --- Holds ----------------------------------------------------------------------------------------


def test_the_hold_list_reads_a_lapsed_hold_as_expired(
    staff_client, showtime, buyer, other_buyer, clock
):
    """Staff see a lapsed hold as expired (domain.md, invariant 4), in the list, its filter, its
    ordering and its page, before the cleanup records it."""
    lapsing = hold_create(
        user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1)
    ).hold
    clock.advance(showtime.hold_ttl - 1)
    fresh = hold_create(
        user=other_buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime)[5:6]
    ).hold
    clock.advance(1)  # the first hold is at its deadline: gone
    listing = staff_client.get(HOLDS, {"o": "4"})  # by status (4th column)
    rows = listing.context["cl"].result_list
    assert [h.pk for h in rows] == [fresh.pk, lapsing.pk]  # "active" < "expired"
    assert "expired (lapsed, not yet recorded)" in listing.content.decode()
    expired = staff_client.get(HOLDS, {"status__exact": "expired"}).context["cl"].result_list
    active = staff_client.get(HOLDS, {"status__exact": "active"}).context["cl"].result_list
    assert ([h.pk for h in expired], [h.pk for h in active]) == ([lapsing.pk], [fresh.pk])
    page = staff_client.get(f"{HOLDS}{lapsing.pk}/change/").content.decode()
    assert "expired (lapsed, not yet recorded)" in page
    assert Hold.objects.get(pk=lapsing.pk).status == "active"  # reading wrote nothing


def test_force_release_a_hold(staff_client, staff, showtime, buyer, other_buyer):
    from orders.services import order_create

    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 2)).hold
    converted = hold_create(
        user=other_buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime)[5:6]
    ).hold
    order_create(
        user=other_buyer,
        hold_id=converted.pk,
        payment_method="card",
        customer={"name": "Bob", "email": "bob@example.com"},
    )
    listing = staff_client.get(HOLDS, {"status__exact": "active"})
    assert [h.pk for h in listing.context["cl"].result_list] == [hold.pk]
    found = staff_client.get(HOLDS, {"q": str(hold.pk)}).context["cl"].result_list
    assert [h.pk for h in found] == [hold.pk]

    page = choose(staff_client, HOLDS, "force_release", [hold.pk, converted.pk])
    assert page.status_code == 200
    assert f"{hold.pk} — alice" in page.content.decode()
    assert Hold.objects.get(pk=hold.pk).status == "active"

    response = confirm(staff_client, HOLDS, "force_release", [hold.pk, converted.pk])
    assert response.status_code == 302
    assert messages_of(response) == [
        "Released 1 hold.",
        f"Skipped 1 hold that is no longer active: {converted.pk} (converted).",
    ]
    assert Hold.objects.get(pk=hold.pk).status == "released"
    now = statuses(showtime)
    assert (now["Hall A-1"], now["Hall A-2"], now["Hall B-1"]) == (
        "available",
        "available",
        "reserved",
    )
    assert (
        list(
            SeatEvent.objects.filter(reason="released").values_list(
                "from_status", "to_status", "actor_kind", "actor", "hold"
            )
        )
        == [("held", "available", "staff", staff.pk, hold.pk)] * 2
    )


# --- Audit trail ----------------------------------------------------------------------------------


def test_the_audit_trail_is_view_only(staff_client, showtime, buyer):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1))
    event = SeatEvent.objects.get()
    listing = staff_client.get(EVENTS, {"reason": "held", "actor_kind__exact": "buyer"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [event]
    assert "available → held" in listing.content.decode()
    assert staff_client.get(f"{EVENTS}add/").status_code == 403
    assert staff_client.post(f"{EVENTS}add/", {}).status_code == 403
    assert staff_client.get(f"{EVENTS}{event.pk}/change/").status_code == 200  # view only
    assert staff_client.post(f"{EVENTS}{event.pk}/change/", {"reason": "x"}).status_code == 403
    assert staff_client.get(f"{EVENTS}{event.pk}/delete/").status_code == 403
    assert staff_client.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    response = choose(staff_client, EVENTS, "delete_selected", [event.pk])
    assert SeatEvent.objects.filter(pk=event.pk, reason="held").exists()
    assert response.status_code in (200, 302)


def test_every_admin_page_renders(staff_client, showtime, buyer):
    """A smoke test over the changelists and pages of this app's admin."""
    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1)).hold
    for url in [
        "/admin/",
        "/admin/seats/venue/",
        "/admin/seats/show/",
        PLANS,
        PLANS + "add/",
        SHOWTIMES,
        SHOWTIMES + "add/",
        f"{SHOWTIMES}{showtime.pk}/change/",
        SEATS,
        HOLDS,
        f"{HOLDS}{hold.pk}/change/",
        EVENTS,
        f"{PLANS}{showtime.plan_id}/change/",
    ]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
    assert "Seatline box office" in staff_client.get("/admin/").content.decode()


def test_lapsed_seats_read_as_available_in_the_seat_list(staff_client, showtime, buyer, clock):
    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1))
    clock.advance(showtime.hold_ttl + timedelta(seconds=1).total_seconds())
    html = staff_client.get(SEATS, {"q": "Hall A-1"}).content.decode()
    assert "available (the held seat lapsed)" in html
