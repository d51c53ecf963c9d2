"""OpenAPI links between the booking operations (OpenAPI 3.0 §4.7.20 "Link Object").

A link says how the answer of one operation feeds the next: the seat map's seat ids into a hold,
the hold's id into an order, the order's id into pay, cancel and tickets. Clients can follow
them; schemathesis's stateful mode (``ticketing/tests/test_schema.py``) walks them to reach
hold → order → pay → cancel with real ids instead of random ones. Added by a drf-spectacular
post-processing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``).
"""

from __future__ import annotations

from typing import Any

CUSTOMER = {"name": "Schema Walker", "email": "walker@example.com"}

# How many seats of a seat-map answer get a link each (a walk then holds different seats).
SEAT_LINKS = 6


def _hold_links() -> dict[str, dict[str, Any]]:
    by_id = {"id": "$response.body#/id"}
    return {
        "GetHold": {"operationId": "holds_retrieve", "parameters": by_id},
        "ReleaseHold": {"operationId": "holds_destroy", "parameters": by_id},
        "ReleaseFirstSeat": {
            "operationId": "holds_release_create",
            "parameters": by_id,
            "requestBody": {"seats": ["$response.body#/seats/0/id"]},
        },
        "OrderTheHold": {
            "operationId": "orders_create",
            "requestBody": {
                "hold": "$response.body#/id",
                "payment_method": "card",
                "customer": CUSTOMER,
            },
        },
    }


def _order_links() -> dict[str, dict[str, Any]]:
    by_id = {"id": "$response.body#/id"}
    return {
        "GetOrder": {"operationId": "orders_retrieve", "parameters": by_id},
        "PayOrder": {"operationId": "orders_pay_create", "parameters": by_id},
        "CancelOrder": {"operationId": "orders_cancel_create", "parameters": by_id},
        "GetTickets": {"operationId": "orders_tickets_list", "parameters": by_id},
    }


def _seat_map_links() -> dict[str, dict[str, Any]]:
    return {
        f"HoldSeat{n}": {
            "operationId": "showtimes_holds_create",
            "parameters": {"showtime_id": "$response.body#/showtime"},
            "requestBody": {"seats": [f"$response.body#/seats/{n}/id"]},
        }
        for n in range(SEAT_LINKS)
    }


# (path, method, success statuses) -> links of those answers
LINKS = {
    ("/api/v1/showtimes/", "get", ("200",)): lambda: {
        **{
            f"SeatMapOf{n}": {
                "operationId": "showtimes_seats_retrieve",
                "parameters": {"id": f"$response.body#/results/{n}/id"},
            }
            for n in range(2)
        },
        "LiveSeatMapOf0": {
            "operationId": "showtimes_live_retrieve",
            "parameters": {"id": "$response.body#/results/0/id"},
        },
    },
    ("/api/v1/showtimes/{id}/", "get", ("200",)): lambda: {
        "SeatMap": {
            "operationId": "showtimes_seats_retrieve",
            "parameters": {"id": "$response.body#/id"},
        },
        "LiveSeatMap": {
            "operationId": "showtimes_live_retrieve",
            "parameters": {"id": "$response.body#/id"},
        },
    },
    ("/api/v1/showtimes/{id}/seats/", "get", ("200",)): _seat_map_links,
    ("/api/v1/showtimes/{showtime_id}/holds/", "post", ("200", "201")): _hold_links,
    ("/api/v1/showtimes/{showtime_id}/holds/best/", "post", ("200", "201")): _hold_links,
    ("/api/v1/orders/", "post", ("201",)): _order_links,
    ("/api/v1/orders/{id}/pay/", "post", ("200",)): lambda: {
        "GetTickets": {
            "operationId": "orders_tickets_list",
            "parameters": {"id": "$response.body#/id"},
        },
        "CancelPaidOrder": {
            "operationId": "orders_cancel_create",
            "parameters": {"id": "$response.body#/id"},
        },
    },
}


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:  # noqa: ARG001 (a spectacular hook)
    """drf-spectacular post-processing hook: put :data:`LINKS` into the schema ``result``
    (operations that are missing, e.g. in a partial schema, are skipped). Returns ``result``."""
    paths = result.get("paths", {})
    for (path, method, statuses), links in LINKS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        for status in statuses:
            response = operation.get("responses", {}).get(status)
            if response is not None:
                response["links"] = links()
    return result
