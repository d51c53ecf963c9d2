"""Delivery across processes (realtime.md "Delivery across processes"): two daphne processes share
Redis; a hold made through process A reaches a client connected to process B."""

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import pytest
import websockets
from channels.db import database_sync_to_async
from websockets.typing import Origin

from conftest import seat_guids, seat_labels

pytestmark = pytest.mark.django_db(transaction=True)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def post_json(url, body, token):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.mark.parametrize("layer", ["pubsub", "core"])
async def test_a_hold_through_one_process_reaches_a_client_of_the_other(
    asgi_server, redis_url, showtime, buyer, layer
):
    from rest_framework_simplejwt.tokens import RefreshToken

    env = {"REDIS_URL": redis_url, "CHANNEL_LAYER": layer}
    url_a = await asyncio.to_thread(asgi_server, env)
    url_b = await asyncio.to_thread(asgi_server, env)
    token = str(RefreshToken.for_user(buyer).access_token)
    guids = await database_sync_to_async(seat_guids)(showtime)
    labels = await database_sync_to_async(seat_labels)(showtime)
    ws_path = f"/ws/showtimes/{showtime.pk}/"
    latencies = []
    async with (
        websockets.connect(
            url_b.replace("http", "ws") + ws_path, origin=Origin("http://localhost")
        ) as on_b,
        websockets.connect(
            url_a.replace("http", "ws") + ws_path, origin=Origin("http://localhost")
        ) as on_a,
    ):
        assert json.loads(await on_b.recv())["type"] == "snapshot"
        assert json.loads(await on_a.recv())["type"] == "snapshot"
        for seat in guids[:5]:
            started = time.perf_counter()
            status, _hold = await asyncio.to_thread(
                post_json,
                f"{url_a}/api/v1/showtimes/{showtime.pk}/holds/",
                {"seats": [seat]},
                token,
            )
            assert status in (200, 201)
            frame = json.loads(await asyncio.wait_for(on_b.recv(), 5))
            latencies.append((time.perf_counter() - started) * 1000)
            assert frame["type"] == "seats.changed" and frame["reason"] == "held"
            assert frame["seats"] == [
                {"id": seat, "label": labels[seat], "status": "held", "version": 2}
            ]
            same = json.loads(await asyncio.wait_for(on_a.recv(), 5))
            assert same["seq"] == frame["seq"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"cross-process-{layer}.json").write_text(
        json.dumps({"layer": layer, "hold_to_frame_ms": [round(x, 1) for x in latencies]})
    )
