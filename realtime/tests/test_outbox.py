"""The server loop's outbox (realtime/events.py): publishes leave the request at once, in order,
and a burst of seat changes leaves as one ``seats.changed`` frame per showtime and reason."""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from realtime import events

SHOWTIME = 987_654  # no database row needed: the outbox only publishes


async def frames(layer, channel, count: int, timeout: float = 3) -> list[dict]:
    return [
        json.loads((await asyncio.wait_for(layer.receive(channel), timeout))["text"])
        for _ in range(count)
    ]


def seat(guid: str, status: str, version: int) -> dict:
    return {"id": guid, "status": status, "version": version}


@pytest.mark.asyncio
async def test_a_burst_of_changes_leaves_as_one_frame_per_reason_with_consecutive_seq():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(events.showtime_group(SHOWTIME), channel)
    try:
        now = timezone.now()
        # Queued in one go, as commits pile up while the outbox task is busy.
        events._enqueue(events._Change(SHOWTIME, "held", [seat("a", "held", 2)], now))
        events._enqueue(events._Change(SHOWTIME, "held", [seat("b", "held", 2)], now))
        events._enqueue(events._Change(SHOWTIME, "released", [seat("a", "available", 3)], now))
        events._enqueue(
            events._Change(SHOWTIME, "held", [seat("a", "held", 4), seat("c", "held", 2)], now)
        )
        held, released = await frames(layer, channel, 2)
        assert (held["reason"], released["reason"]) == ("held", "released")
        assert sorted((s["id"], s["version"]) for s in held["seats"]) == [
            ("a", 4),
            ("b", 2),
            ("c", 2),
        ]  # a seat named twice keeps its newest state
        assert released["seats"] == [seat("a", "available", 3)]
        assert released["seq"] == held["seq"] + 1
        with pytest.raises(asyncio.TimeoutError):  # nothing else was sent
            await frames(layer, channel, 1, timeout=0.3)

        # A lone change later leaves at once, with the next seq.
        events._enqueue(events._Change(SHOWTIME, "sold", [seat("b", "sold", 5)], now))
        (sold,) = await frames(layer, channel, 1)
        assert sold["seq"] == released["seq"] + 1 and sold["seats"] == [seat("b", "sold", 5)]
    finally:
        await layer.group_discard(events.showtime_group(SHOWTIME), channel)


@pytest.mark.asyncio
async def test_personal_messages_keep_their_order_around_seat_frames():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = events.user_group(SHOWTIME)
    await layer.group_add(group, channel)
    try:
        for n in range(5):
            events._enqueue(
                (group, "hold.updated", {"type": "hold.updated", "text": json.dumps({"n": n})})
            )
            events._enqueue(
                events._Change(SHOWTIME, "held", [seat(f"s{n}", "held", 2)], timezone.now())
            )
        assert [f["n"] for f in await frames(layer, channel, 5)] == [0, 1, 2, 3, 4]
    finally:
        await layer.group_discard(group, channel)


@pytest.mark.asyncio
async def test_a_showtime_gets_at_most_one_frame_per_interval_and_personal_messages_never_wait(
    settings,
):
    """After a frame, a showtime's next changes wait for REALTIME_FRAME_INTERVAL_SECONDS and leave
    together (one frame, the next seq); a personal message queued meanwhile leaves at once."""
    settings.REALTIME_FRAME_INTERVAL_SECONDS = 0.5
    layer = get_channel_layer()
    seats_channel, personal_channel = await layer.new_channel(), await layer.new_channel()
    group, personal = events.showtime_group(SHOWTIME), events.user_group(SHOWTIME)
    await layer.group_add(group, seats_channel)
    await layer.group_add(personal, personal_channel)
    try:
        now = timezone.now()
        events._enqueue(events._Change(SHOWTIME, "held", [seat("a", "held", 2)], now))
        (first,) = await frames(layer, seats_channel, 1)
        started = asyncio.get_running_loop().time()
        events._enqueue(events._Change(SHOWTIME, "held", [seat("b", "held", 2)], now))
        events._enqueue(events._Change(SHOWTIME, "held", [seat("c", "held", 2)], now))
        events._enqueue(
            (personal, "hold.updated", {"type": "hold.updated", "text": json.dumps({"n": 1})})
        )
        assert (await frames(layer, personal_channel, 1, timeout=0.3))[0]["n"] == 1
        (second,) = await frames(layer, seats_channel, 1, timeout=2)
        assert asyncio.get_running_loop().time() - started >= 0.4
        assert second["seq"] == first["seq"] + 1
        assert sorted(s["id"] for s in second["seats"]) == ["b", "c"]
    finally:
        await layer.group_discard(group, seats_channel)
        await layer.group_discard(personal, personal_channel)
