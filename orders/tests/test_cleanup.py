"""Exact expiry and the ``cleanup`` command (domain.md invariant 4; api.md "Operations")."""

import asyncio
import io
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.test import Client

from conftest import assert_inventory_consistent, seat_guids, seat_labels
from orders.models import Order
from orders.services import order_create
from seats.models import Hold, ShowtimeSeat
from seats.services import hold_create
from ticketing.asgi import application

CUSTOMER = {"name": "Alice", "email": "alice@example.com", "phone": ""}


def run_cleanup() -> str:
    out = io.StringIO()
    call_command("cleanup", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_cleanup_releases_expired_holds_and_orders_in_the_database(
    showtime, buyer, other_buyer, clock, settings
):
    a, b, c = seat_guids(showtime, 3)
    expired_hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=[a]).hold
    hold = hold_create(user=other_buyer, showtime_id=showtime.pk, seat_ids=[b]).hold
    order = order_create(
        user=other_buyer, hold_id=hold.pk, customer=CUSTOMER, payment_method="card"
    ).order
    clock.advance(showtime.hold_ttl + 1)
    hold_create(user=other_buyer, showtime_id=showtime.pk, seat_ids=[c])  # still fresh
    assert run_cleanup().startswith("cleanup: 1 holds expired, 0 orders expired")
    assert Hold.objects.get(pk=expired_hold.pk).status == "expired"
    assert ShowtimeSeat.objects.get(seat__guid=a).status == "available"
    clock.advance(settings.PAYMENT_WINDOW_SECONDS)
    assert "1 holds expired, 1 orders expired" in run_cleanup()
    assert Order.objects.get(pk=order.pk).status == "expired"
    assert set(ShowtimeSeat.objects.values_list("status", flat=True)) == {"available"}
    assert run_cleanup().startswith("cleanup: 0 holds expired, 0 orders expired")  # idempotent
    assert_inventory_consistent(showtime)


def _cookie(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.mark.django_db(transaction=True)
async def test_two_cleanups_at_once_broadcast_each_expiry_exactly_once(showtime, buyer, clock):
    guids = await database_sync_to_async(seat_guids)(showtime, 2)
    hold = (
        await database_sync_to_async(hold_create)(
            user=buyer, showtime_id=showtime.pk, seat_ids=guids
        )
    ).hold
    ws = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime.pk}/",
        headers=[
            (b"host", b"localhost"),
            (b"origin", b"http://localhost"),
            (b"cookie", await database_sync_to_async(_cookie)(buyer)),
        ],
    )
    assert (await ws.connect())[0]
    assert json.loads(await ws.receive_from())["type"] == "snapshot"
    clock.advance(showtime.hold_ttl + 1)

    outputs = await asyncio.gather(
        database_sync_to_async(run_cleanup, thread_sensitive=False)(),
        database_sync_to_async(run_cleanup, thread_sensitive=False)(),
    )
    assert sorted(o.split(",")[0] for o in outputs) == [
        "cleanup: 0 holds expired",
        "cleanup: 1 holds expired",
    ]
    frames = [json.loads(await ws.receive_from(timeout=3)) for _ in range(2)]
    by_type = {f["type"]: f for f in frames}
    changed = by_type["seats.changed"]
    assert changed["reason"] == "expired"
    labels = await database_sync_to_async(seat_labels)(showtime)
    assert changed["seats"] == [
        {"id": g, "label": labels[g], "status": "available", "version": 3} for g in guids
    ]
    assert by_type["hold.expired"] == {
        "type": "hold.expired",
        "hold": str(hold.pk),
        "expires_at": hold.expires_at.isoformat(),
    }
    assert await ws.receive_nothing(timeout=0.3)  # exactly once
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_expired_order_tells_its_owner(showtime, buyer, clock, settings):
    guids = await database_sync_to_async(seat_guids)(showtime, 1)
    hold = (
        await database_sync_to_async(hold_create)(
            user=buyer, showtime_id=showtime.pk, seat_ids=guids
        )
    ).hold
    order = (
        await database_sync_to_async(order_create)(
            user=buyer, hold_id=hold.pk, customer=CUSTOMER, payment_method="card"
        )
    ).order
    ws = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime.pk}/",
        headers=[
            (b"host", b"localhost"),
            (b"origin", b"http://localhost"),
            (b"cookie", await database_sync_to_async(_cookie)(buyer)),
        ],
    )
    await ws.connect()
    await ws.receive_from()
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    await database_sync_to_async(run_cleanup)()
    frames = {
        f["type"]: f for f in [json.loads(await ws.receive_from(timeout=3)) for _ in range(2)]
    }
    assert frames["order.updated"]["order"] == {
        "id": order.pk,
        "number": order.number,
        "status": "expired",
        "expires_at": order.expires_at.isoformat(),
    }
    assert frames["seats.changed"]["reason"] == "expired"
    await ws.disconnect()
