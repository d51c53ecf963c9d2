"""Seat ids of a request: plan ``seat_guid`` strings to ``ShowtimeSeat`` primary keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from core.errors import ApplicationError

from ..models import Showtime
from ..rawsql import showtime_seat_ids


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def seat_ids_parse(seat_ids: Sequence[Any]) -> list[uuid.UUID | None]:
    """Parse seat ids of a request (plan ``seat_guid`` strings) into UUIDs, ``None`` for what is
    not a UUID, in the order given.

    A GUID has many spellings that the parser accepts (any letter case, with or without hyphens,
    braces or ``urn:uuid:``); two spellings of one seat are the same seat listed twice, and a
    request listing a seat twice is refused, never counted once (api.md "Holds": each seat once).

    Raises:
        ApplicationError: 400 ``validation_error``, ``details.seats`` naming each seat listed more
            than once and the spellings used.
    """
    parsed = [_uuid_or_none(raw) for raw in seat_ids]
    spellings: dict[Any, list[str]] = {}
    for raw, guid in zip(seat_ids, parsed, strict=True):
        spellings.setdefault(guid if guid is not None else str(raw), []).append(str(raw))
    duplicates = [(str(key), raws) for key, raws in spellings.items() if len(raws) > 1]
    if duplicates:
        raise ApplicationError(
            "validation_error",
            _("A seat is listed more than once."),
            details={
                "seats": [
                    _("%(seat)s is listed %(count)s times (as %(spellings)s)")
                    % {"seat": key, "count": len(raws), "spellings": ", ".join(map(repr, raws))}
                    for key, raws in duplicates
                ]
            },
            status=400,
        )
    return parsed


def resolve_seats(showtime: Showtime, seat_ids: Sequence[str]) -> list[int]:
    """Map seat ids (plan ``seat_guid`` strings) of a showtime to ``ShowtimeSeat`` primary keys,
    in the order given. One statement (:func:`seats.rawsql.showtime_seat_ids`). The seat cap is
    the caller's
    (:func:`seats.services.limits.seats_per_request_check`, under its locks).

    Raises:
        ApplicationError: 400 ``validation_error`` for a seat listed twice, in any spelling
            (:func:`seat_ids_parse`); 400 ``unknown_seats`` (details.seats: the unknown ids)
            when an id is not a seat of this showtime.
    """
    guids = seat_ids_parse(seat_ids)
    found = showtime_seat_ids(showtime.pk, showtime.plan_id, [g for g in guids if g is not None])
    unknown = [raw for raw, guid in zip(seat_ids, guids, strict=True) if guid not in found]
    if unknown:
        raise ApplicationError(
            "unknown_seats",
            _("%(count)s of the requested seats do not exist in this showtime.")
            % {"count": len(unknown)},
            details={"seats": unknown},
            status=400,
        )
    return [found[guid] for guid in guids]
