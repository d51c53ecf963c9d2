"""Orders through the REST API (api.md "Orders"): hold → order → pay → sold, cancel, one-step
orders, idempotency, foreign ids, payment deadline."""

import pytest

from conftest import seat_guids
from orders.models import IdempotencyKey, Order, Ticket
from seats.models import Hold, SeatClaim

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Alice Buyer", "email": "alice@example.com", "phone": "+49 30 1234"}


def seat_status(api, showtime):
    snap = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()
    return {s["id"]: s["status"] for s in snap["seats"]}


def hold_seats(api, showtime, seats):
    response = api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def order_from_hold(api, hold_id, key="key-1", **extra):
    body = {"hold": hold_id, "customer": CUSTOMER, "payment_method": "card", **extra}
    return api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_hold_order_pay_sells_the_seats_and_issues_tickets(api, showtime):
    a, b = seat_guids(showtime, 2)
    hold_id = hold_seats(api, showtime, [a, b])
    response = order_from_hold(api, hold_id)
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "pending" and order["total"] == "160.00"
    assert order["currency"] == "EUR" and order["customer"] == CUSTOMER
    assert order["number"].startswith("ORD-") and order["number"].endswith(f"{order['id']:06d}")
    assert [t["seat"]["id"] for t in order["tickets"]] == [a, b]
    assert seat_status(api, showtime)[a] == "reserved"
    assert Hold.objects.get(pk=hold_id).status == "converted"

    paid = api.post(f"/api/v1/orders/{order['id']}/pay/")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert paid.json()["paid_at"] is not None
    assert seat_status(api, showtime)[a] == "sold" and seat_status(api, showtime)[b] == "sold"
    tickets = api.get(f"/api/v1/orders/{order['id']}/tickets/").json()
    assert [t["seat"]["id"] for t in tickets] == [a, b]
    assert all(t["status"] == "valid" and len(t["code"]) >= 20 for t in tickets)
    assert len({t["code"] for t in tickets}) == 2
    qr = api.get(tickets[0]["qr_svg_url"])
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    # paying again changes nothing
    assert api.post(f"/api/v1/orders/{order['id']}/pay/").json()["status"] == "paid"
    assert Ticket.objects.count() == 2


def test_cancel_frees_the_seats_and_only_pending_orders_cancel(api, other_api, showtime):
    a = seat_guids(showtime, 1)[0]
    order = order_from_hold(api, hold_seats(api, showtime, [a])).json()
    response = api.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert seat_status(api, showtime)[a] == "available"
    again = api.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_not_cancellable"
    assert hold_seats(other_api, showtime, [a])  # someone else can buy it now


def test_paid_order_cannot_be_cancelled(api, showtime):
    order = order_from_hold(api, hold_seats(api, showtime, seat_guids(showtime, 1))).json()
    api.post(f"/api/v1/orders/{order['id']}/pay/")
    response = api.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_cancellable"


def test_order_in_one_step_from_seats(api, other_api, showtime):
    a, b = seat_guids(showtime, 2)
    body = {
        "showtime": showtime.pk,
        "seats": [a, b],
        "customer": CUSTOMER,
        "payment_method": "cash",
    }
    response = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="one-step")
    assert response.status_code == 201
    assert response.json()["status"] == "pending" and response.json()["payment_method"] == "cash"
    assert seat_status(api, showtime)[a] == "reserved"
    body["seats"] = [b, seat_guids(showtime)[2]]
    conflict = other_api.post("/api/v1/orders/", body, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["details"]["seats"] == ["Hall A-2"]
    assert Order.objects.count() == 1


def test_idempotent_replay_returns_the_first_answer(api, showtime):
    hold_id = hold_seats(api, showtime, seat_guids(showtime, 1))
    first = order_from_hold(api, hold_id, key="same")
    replay = order_from_hold(api, hold_id, key="same")
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1


def test_same_key_with_another_body_is_422(api, showtime):
    hold_id = hold_seats(api, showtime, seat_guids(showtime, 1))
    order_from_hold(api, hold_id, key="k")
    response = order_from_hold(api, hold_id, key="k", payment_method="cash")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reuse"


def test_failed_requests_are_not_stored(api, showtime, clock):
    hold_id = hold_seats(api, showtime, seat_guids(showtime, 1))
    clock.advance(showtime.hold_ttl + 1)
    response = order_from_hold(api, hold_id, key="retry-me")
    assert response.status_code == 409 and response.json()["error"]["code"] == "hold_expired"
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()
    assert Hold.objects.get(pk=hold_id).status == "expired"  # recorded, not rolled back


def test_keys_are_scoped_to_the_user(api, other_api, showtime):
    a, b = seat_guids(showtime, 2)
    order_from_hold(api, hold_seats(api, showtime, [a]), key="shared")
    response = order_from_hold(other_api, hold_seats(other_api, showtime, [b]), key="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Order.objects.count() == 2


def test_another_buyers_order_and_hold_are_404(api, other_api, showtime):
    hold_id = hold_seats(api, showtime, seat_guids(showtime, 1))
    assert order_from_hold(other_api, hold_id).status_code == 404
    order_id = order_from_hold(api, hold_id).json()["id"]
    assert other_api.get(f"/api/v1/orders/{order_id}/").status_code == 404
    assert other_api.post(f"/api/v1/orders/{order_id}/cancel/").status_code == 404
    assert other_api.post(f"/api/v1/orders/{order_id}/pay/").status_code == 404
    assert other_api.get(f"/api/v1/orders/{order_id}/tickets/").status_code == 404
    assert other_api.get("/api/v1/orders/").json()["count"] == 0
    assert api.get("/api/v1/orders/").json()["count"] == 1
    assert Order.objects.get().status == "pending"


def test_unpaid_order_expires_at_its_deadline_without_cleanup(
    api, other_api, showtime, clock, settings
):
    a = seat_guids(showtime, 1)[0]
    order = order_from_hold(api, hold_seats(api, showtime, [a])).json()
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    assert seat_status(other_api, showtime)[a] == "available"
    hold_seats(other_api, showtime, [a])  # taken by someone else
    response = api.post(f"/api/v1/orders/{order['id']}/pay/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_expired"
    assert Order.objects.get().status == "expired"
    assert seat_status(other_api, showtime)[a] == "held"  # paying late resurrects nothing
    assert SeatClaim.objects.filter(is_live=True).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"customer": CUSTOMER, "payment_method": "card"},
        {"hold": "not-a-uuid", "customer": CUSTOMER, "payment_method": "card"},
        {
            "hold": "2d0b0c83-9d52-4a43-9b1c-000000000000",
            "customer": {"name": "x"},
            "payment_method": "card",
        },
        {
            "hold": "2d0b0c83-9d52-4a43-9b1c-000000000000",
            "customer": CUSTOMER,
            "payment_method": "bitcoin",
        },
        {"showtime": 1, "customer": CUSTOMER, "payment_method": "card"},
    ],
)
def test_bad_order_input_is_400(api, body):
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_unknown_hold_is_404(api):
    body = {
        "hold": "2d0b0c83-9d52-4a43-9b1c-000000000000",
        "customer": CUSTOMER,
        "payment_method": "card",
    }
    assert api.post("/api/v1/orders/", body, format="json").status_code == 404
    assert api.get("/api/v1/orders/abc/").status_code == 404


# --- Reads apply the lapse rule (domain.md, invariant 4; issue 13) ---------------------------------


def test_an_unpaid_order_reads_expired_from_its_deadline_in_detail_and_list(
    api, showtime, clock, settings
):
    """``pending`` until the payment deadline, ``expired`` from it on, in ``GET orders/{id}/`` and
    ``GET orders/`` alike, without any write; the cleanup then records what was read."""
    from orders.services import order_expire_due

    a = seat_guids(showtime, 1)[0]
    order = order_from_hold(api, hold_seats(api, showtime, [a])).json()
    detail, listing = f"/api/v1/orders/{order['id']}/", "/api/v1/orders/"
    clock.advance(settings.PAYMENT_WINDOW_SECONDS - 1)
    assert api.get(detail).json()["status"] == "pending"
    assert [o["status"] for o in api.get(listing).json()["results"]] == ["pending"]

    clock.advance(1)  # exactly at expires_at: gone
    lapsed = api.get(detail)
    assert lapsed.status_code == 200
    assert lapsed.json() == {**order, "status": "expired"}  # its seats are still listed
    assert [o["status"] for o in api.get(listing).json()["results"]] == ["expired"]
    assert api.get(f"{detail}tickets/").json() == []
    assert Order.objects.get().status == "pending"  # a read writes nothing
    assert seat_status(api, showtime)[a] == "available"

    assert [o.pk for o in order_expire_due()] == [order["id"]]
    assert api.get(detail).json() == lapsed.json()


def test_a_paid_order_never_reads_expired(api, showtime, clock, settings):
    a, b = seat_guids(showtime, 2)
    paid = order_from_hold(api, hold_seats(api, showtime, [a]), key="paid").json()
    assert api.post(f"/api/v1/orders/{paid['id']}/pay/").json()["status"] == "paid"
    unpaid = order_from_hold(api, hold_seats(api, showtime, [b]), key="unpaid").json()
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    assert api.get(f"/api/v1/orders/{paid['id']}/").json()["status"] == "paid"
    by_id = {o["id"]: o["status"] for o in api.get("/api/v1/orders/").json()["results"]}
    assert by_id == {paid["id"]: "paid", unpaid["id"]: "expired"}
    assert len(api.get(f"/api/v1/orders/{paid['id']}/tickets/").json()) == 1


def test_writes_on_a_lapsed_order_keep_their_behaviour(api, showtime, clock, settings):
    """Cancelling a lapsed order records its expiry and answers 409 ``order_not_cancellable``
    (details.status ``expired``); paying it then answers 409 ``order_not_payable``."""
    order = order_from_hold(api, hold_seats(api, showtime, seat_guids(showtime, 1))).json()
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    response = api.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_cancellable"
    assert response.json()["error"]["details"] == {"status": "expired"}
    assert Order.objects.get().status == "expired"
    response = api.post(f"/api/v1/orders/{order['id']}/pay/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_expired"
