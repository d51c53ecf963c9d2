"""The seat map WebSocket (realtime.md) through Channels' ``WebsocketCommunicator``, against the
real ASGI application (origin check, session sign-in, routing) and a real database."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from conftest import seat_guids, seat_labels, snapshot_states
from core.errors import ApplicationError
from orders.services import order_create, order_pay
from seats.services import hold_create, hold_release
from ticketing.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]

aguids = database_sync_to_async(seat_guids)
CUSTOMER = {"name": "Alice", "email": "alice@example.com", "phone": ""}


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(showtime_id, cookie=None, origin=b"http://localhost"):
    headers = [(b"host", b"localhost")]
    if origin:
        headers.append((b"origin", origin))
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(
        application, f"/ws/showtimes/{showtime_id}/", headers=headers
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


async def receive(communicator, timeout=3):
    return json.loads(await communicator.receive_from(timeout=timeout))


async def test_snapshot_on_connect_matches_the_rest_snapshot(showtime):
    ws, connected, _ = await connect(showtime.pk)
    assert connected
    frame = await receive(ws)
    assert frame["type"] == "snapshot" and frame["showtime"] == showtime.pk
    assert isinstance(frame["seq"], int) and frame["as_of"]
    states = snapshot_states(frame)  # the live form, decoded through the plan's layout
    assert len(states) == 10
    assert states[(await aguids(showtime, 1))[0]] == ("available", 1)
    await ws.disconnect()


async def test_every_committed_change_is_one_seats_changed_frame(showtime, buyer):
    watcher, _, _ = await connect(showtime.pk)
    snapshot = await receive(watcher)
    a, b = await aguids(showtime, 2)

    hold = (
        await database_sync_to_async(hold_create)(
            user=buyer, showtime_id=showtime.pk, seat_ids=[a, b]
        )
    ).hold
    held = await receive(watcher)
    assert held["type"] == "seats.changed" and held["reason"] == "held"
    assert held["showtime"] == showtime.pk and held["at"]
    labels = await database_sync_to_async(seat_labels)(showtime)
    assert held["seats"] == [  # each seat named by id and label: no snapshot needed to name it
        {"id": a, "label": labels[a], "status": "held", "version": 2},
        {"id": b, "label": labels[b], "status": "held", "version": 2},
    ]
    assert held["seq"] > snapshot["seq"]

    order = (
        await database_sync_to_async(order_create)(
            user=buyer, hold_id=hold.pk, customer=CUSTOMER, payment_method="card"
        )
    ).order
    reserved = await receive(watcher)
    assert reserved["reason"] == "reserved" and reserved["seq"] == held["seq"] + 1
    assert {s["status"] for s in reserved["seats"]} == {"reserved"}

    await database_sync_to_async(order_pay)(user=buyer, order_id=order.pk)
    sold = await receive(watcher)
    assert sold["reason"] == "sold" and sold["seq"] == reserved["seq"] + 1
    assert sold["seats"] == [
        {"id": a, "label": labels[a], "status": "sold", "version": 4},
        {"id": b, "label": labels[b], "status": "sold", "version": 4},
    ]
    assert await watcher.receive_nothing(timeout=0.2)
    await watcher.disconnect()


async def test_a_rolled_back_change_is_never_seen(showtime, buyer, other_buyer):
    a, b = await aguids(showtime, 2)
    await database_sync_to_async(hold_create)(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    watcher, _, _ = await connect(showtime.pk)
    await receive(watcher)
    with pytest.raises(ApplicationError):  # b is free but a is taken: all or nothing, rolled back
        await database_sync_to_async(hold_create)(
            user=other_buyer, showtime_id=showtime.pk, seat_ids=[b, a]
        )
    assert await watcher.receive_nothing(timeout=0.3)
    await watcher.disconnect()


async def test_owner_gets_hold_updated_and_others_do_not(showtime, buyer, other_buyer):
    mine, _, _ = await connect(
        showtime.pk, cookie=await database_sync_to_async(session_cookie)(buyer)
    )
    theirs, _, _ = await connect(
        showtime.pk, cookie=await database_sync_to_async(session_cookie)(other_buyer)
    )
    await receive(mine)
    await receive(theirs)
    a = (await aguids(showtime, 1))[0]
    hold = (
        await database_sync_to_async(hold_create)(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    ).hold
    frames = [await receive(mine), await receive(mine)]
    by_type = {f["type"]: f for f in frames}
    assert by_type["hold.updated"]["hold"]["id"] == str(hold.pk)
    assert by_type["hold.updated"]["hold"]["seats"][0]["id"] == a
    assert (await receive(theirs))["type"] == "seats.changed"
    assert await theirs.receive_nothing(timeout=0.2)

    await database_sync_to_async(hold_release)(user=buyer, hold_id=hold.pk)
    frames = [await receive(mine), await receive(mine)]
    by_type = {f["type"]: f for f in frames}
    assert by_type["seats.changed"]["reason"] == "released"
    assert by_type["hold.updated"]["hold"]["status"] == "released"
    await mine.disconnect()
    await theirs.disconnect()


async def test_a_session_signed_out_by_a_password_change_gets_no_personal_frames(showtime, buyer):
    cookie = await database_sync_to_async(session_cookie)(buyer)

    def change_password():
        buyer.set_password("a new password 123")
        buyer.save()

    await database_sync_to_async(change_password)()  # the session's auth hash no longer matches
    ws, connected, _ = await connect(showtime.pk, cookie=cookie)
    assert connected
    await receive(ws)
    a = (await aguids(showtime, 1))[0]
    await database_sync_to_async(hold_create)(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    assert (await receive(ws))["type"] == "seats.changed"
    assert await ws.receive_nothing(timeout=0.3)  # no hold.updated: the socket is anonymous
    await ws.disconnect()


async def test_an_unknown_session_cookie_watches_anonymously(showtime):
    ws, connected, _ = await connect(showtime.pk, cookie=b"sessionid=no-such-session; other=1")
    assert connected and (await receive(ws))["type"] == "snapshot"
    await ws.disconnect()


async def test_ping_resync_and_bad_frames(showtime, buyer):
    ws, _, _ = await connect(showtime.pk)
    await receive(ws)
    await ws.send_to(text_data=json.dumps({"type": "ping"}))
    pong = await receive(ws)
    assert pong["type"] == "pong" and pong["server_time"]

    await database_sync_to_async(hold_create)(
        user=buyer, showtime_id=showtime.pk, seat_ids=(await aguids(showtime, 1))
    )
    changed = await receive(ws)
    await ws.send_to(text_data=json.dumps({"type": "resync"}))
    snapshot = await receive(ws)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] >= changed["seq"]
    assert snapshot_states(snapshot)[(await aguids(showtime, 1))[0]][0] == "held"

    await ws.send_to(text_data="{nope")
    assert (await receive(ws)) == {
        "type": "error",
        "code": "malformed_json",
        "message": "Frames must be JSON objects.",
    }
    await ws.send_to(text_data=json.dumps({"type": "hold"}))
    assert (await receive(ws))["code"] == "unknown_type"
    await ws.send_to(text_data=json.dumps({"type": "ping"}))  # still open after errors
    assert (await receive(ws))["type"] == "pong"
    await ws.disconnect()


async def test_frame_over_4_kib_closes_with_4009(showtime):
    """4009, not 1009: daphne lets an application close only with 1000 or 3000–4999 (the same
    case against real servers: test_protocol.py)."""
    ws, _, _ = await connect(showtime.pk)
    await receive(ws)
    await ws.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 5000}))
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4009}
    await ws.send_to(text_data=json.dumps({"type": "ping"}))  # nothing more after the close
    assert await ws.receive_nothing(timeout=0.3)


async def test_unknown_showtime_closes_with_4404(db):
    ws, connected, _ = await connect(999999)
    assert connected
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4404}


async def test_a_cookie_socket_from_a_foreign_origin_is_refused(showtime, buyer):
    """realtime.md: cookie sockets need a matching Origin; sockets without cookies need none
    (the whole rule against real servers: test_protocol.py)."""
    cookie = await database_sync_to_async(session_cookie)(buyer)
    _, connected, _ = await connect(showtime.pk, cookie=cookie, origin=b"http://evil.example")
    assert not connected
    _, connected, _ = await connect(showtime.pk, cookie=cookie, origin=None)
    assert not connected
    ws, connected, _ = await connect(showtime.pk, origin=None)
    assert connected and (await receive(ws))["type"] == "snapshot"
    await ws.disconnect()


async def _ticket(user) -> str:
    from conftest import client_for

    response = await database_sync_to_async(
        lambda: client_for(user).post("/api/v1/realtime/tickets/")
    )()
    assert response.status_code == 201 and response.json()["expires_in"] == 30
    return response.json()["ticket"]


async def test_socket_ticket_signs_in_once(showtime, buyer):
    ticket = await _ticket(buyer)
    ws = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime.pk}/?ticket={ticket}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")],
    )
    assert (await ws.connect())[0]
    await receive(ws)
    await database_sync_to_async(hold_create)(
        user=buyer, showtime_id=showtime.pk, seat_ids=(await aguids(showtime, 1))
    )
    types = {(await receive(ws))["type"], (await receive(ws))["type"]}
    assert types == {"seats.changed", "hold.updated"}
    await ws.disconnect()

    again = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime.pk}/?ticket={ticket}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")],
    )
    await again.connect()
    assert (await again.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize("ticket", ["forged", "x" * 300])
async def test_unknown_ticket_closes_with_4401(showtime, ticket):
    ws = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime.pk}/?ticket={ticket}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")],
    )
    await ws.connect()
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}


async def test_expired_ticket_closes_with_4401(showtime, buyer, clock):
    ticket = await _ticket(buyer)
    clock.advance(31)
    ws = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime.pk}/?ticket={ticket}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")],
    )
    await ws.connect()
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}


async def test_ticket_needs_authentication(client):
    response = await database_sync_to_async(lambda: client.post("/api/v1/realtime/tickets/"))()
    assert response.status_code == 401


async def test_hold_expiring_is_sent_60_seconds_before_expiry(make_showtime, buyer):
    showtime = await database_sync_to_async(make_showtime)(hold_ttl=62)
    ws, _, _ = await connect(
        showtime.pk, cookie=await database_sync_to_async(session_cookie)(buyer)
    )
    await receive(ws)
    hold = (
        await database_sync_to_async(hold_create)(
            user=buyer, showtime_id=showtime.pk, seat_ids=await aguids(showtime, 1)
        )
    ).hold
    frames = [await receive(ws) for _ in range(2)]
    assert {f["type"] for f in frames} == {"seats.changed", "hold.updated"}
    expiring = await receive(ws, timeout=5)  # due 2 s after the hold was made
    assert expiring == {
        "type": "hold.expiring",
        "hold": str(hold.pk),
        "expires_at": hold.expires_at.isoformat(),
    }
    await ws.disconnect()


async def test_personal_events_of_another_showtime_are_not_forwarded(make_showtime, buyer):
    watched, other = await database_sync_to_async(lambda: (make_showtime(), make_showtime()))()
    ws, _, _ = await connect(watched.pk, cookie=await database_sync_to_async(session_cookie)(buyer))
    await receive(ws)
    await database_sync_to_async(hold_create)(
        user=buyer, showtime_id=other.pk, seat_ids=(await aguids(other, 1))
    )
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_a_gap_in_seq_is_repaired_by_the_server_with_a_fresh_snapshot(
    showtime, buyer, other_buyer
):
    """A frame lost on the way (here: a seq number taken and never delivered) is waited for
    briefly, then the server sends a fresh snapshot instead of the frame after the gap, so the
    client never sees the gap (docs/realtime.md "Ordering")."""
    from realtime import sequence

    ws, _, _ = await connect(showtime.pk)
    snapshot = await receive(ws)
    a, b = await aguids(showtime, 2)
    await database_sync_to_async(hold_create)(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    first = await receive(ws)
    await database_sync_to_async(sequence.allocate)(showtime.pk)  # the "lost" frame
    await database_sync_to_async(hold_create)(
        user=other_buyer, showtime_id=showtime.pk, seat_ids=[b]
    )
    assert first["seq"] == snapshot["seq"] + 1 and first["epoch"] == snapshot["epoch"]
    fresh = await receive(ws, timeout=5)
    assert fresh["type"] == "snapshot" and fresh["seq"] == first["seq"] + 2
    assert fresh["epoch"] == first["epoch"]
    states = snapshot_states(fresh)
    assert states[a][0] == "held" and states[b][0] == "held"
    await ws.disconnect()
