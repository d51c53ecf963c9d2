"""The ``snapshot`` frame's two forms (docs/realtime.md "Snapshot forms"): the live form by
default (states aligned with the plan's layout), the full seat list with ``?snapshot=full``, and
any other ``snapshot`` value refused with close 4400."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from conftest import seat_guids, snapshot_states
from realtime.services import socket_ticket_issue
from seats.services import hold_create
from ticketing.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]


async def connect(path):
    ws = WebsocketCommunicator(
        application, path, headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")]
    )
    connected, _ = await ws.connect()
    assert connected
    return ws


async def receive(ws):
    return json.loads(await ws.receive_from(timeout=3))


def rest(path):
    return Client().get(path).json()


async def test_the_default_snapshot_is_the_live_form_of_the_rest_snapshot(showtime, buyer):
    a = (await database_sync_to_async(seat_guids)(showtime, 1))[0]
    await database_sync_to_async(hold_create)(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    ws = await connect(f"/ws/showtimes/{showtime.pk}/")
    frame = await receive(ws)
    assert set(frame) == {"type", "showtime", "as_of", "epoch", "seq", "layout", "live", "ga"}
    detail = await database_sync_to_async(rest)(f"/api/v1/showtimes/{showtime.pk}/")
    assert frame["layout"] == detail["layout"]  # {"version", "url", "seats"}
    assert frame["live"]["layout"] == frame["layout"]["version"]
    assert frame["live"]["encoding"] == "varint-base64" and frame["live"]["count"] == 10
    layout = await database_sync_to_async(rest)(frame["layout"]["url"])
    full = await database_sync_to_async(rest)(f"/api/v1/showtimes/{showtime.pk}/seats/")
    assert snapshot_states(frame, layout) == snapshot_states(full)
    assert snapshot_states(frame, layout)[a] == ("held", 2)
    await ws.disconnect()


async def test_snapshot_full_gets_the_seat_list(showtime):
    ws = await connect(f"/ws/showtimes/{showtime.pk}/?snapshot=full")
    frame = await receive(ws)
    assert set(frame) == {"type", "showtime", "as_of", "epoch", "seq", "seats", "ga"}
    guids = await database_sync_to_async(seat_guids)(showtime)
    assert frame["seats"] == [{"id": g, "status": "available", "version": 1} for g in guids]
    await ws.disconnect()


async def test_both_forms_at_once_each_get_their_own(showtime, buyer, settings):
    """The hub caches one snapshot per form: sockets of one showtime asking for different forms
    never get each other's (here with a cache that only a change may refresh)."""
    settings.REALTIME_SNAPSHOT_CACHE_SECONDS = 60
    live = await connect(f"/ws/showtimes/{showtime.pk}/")
    full = await connect(f"/ws/showtimes/{showtime.pk}/?snapshot=full")
    live_again = await connect(f"/ws/showtimes/{showtime.pk}/")
    first, listed, cached = await receive(live), await receive(full), await receive(live_again)
    assert "live" in first and "seats" not in first
    assert "seats" in listed and "live" not in listed
    assert cached == first  # the cached live frame
    a = (await database_sync_to_async(seat_guids)(showtime, 1))[0]
    await database_sync_to_async(hold_create)(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    for ws in (live, full, live_again):
        assert (await receive(ws))["type"] == "seats.changed"
    for ws, form in ((full, "seats"), (live, "live")):
        await ws.send_to(text_data=json.dumps({"type": "resync"}))
        fresh = await receive(ws)
        assert fresh["type"] == "snapshot" and form in fresh
        assert snapshot_states(fresh)[a] == ("held", 2)
    for ws in (live, full, live_again):
        await ws.disconnect()


@pytest.mark.parametrize(
    "query", ["snapshot=live", "snapshot=", "snapshot=FULL", "snapshot=full&snapshot=x"]
)
async def test_another_snapshot_value_is_closed_with_4400(showtime, query):
    ws = await connect(f"/ws/showtimes/{showtime.pk}/?{query}")
    assert await ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}


async def test_a_refused_snapshot_value_does_not_use_up_the_ticket(showtime, buyer):
    ticket, _ = await database_sync_to_async(socket_ticket_issue)(user=buyer)
    ws = await connect(f"/ws/showtimes/{showtime.pk}/?snapshot=nope&ticket={ticket}")
    assert (await ws.receive_output(timeout=3))["code"] == 4400
    ws = await connect(f"/ws/showtimes/{showtime.pk}/?snapshot=full&ticket={ticket}")
    assert (await receive(ws))["type"] == "snapshot"  # the ticket still signs in
    await ws.disconnect()
