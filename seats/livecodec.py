"""The live form of a seat map: every seat's status and version in a few bytes (docs/api.md
"Live form").

Encoding ``varint-base64``: for each seat of the plan's layout, in the layout's seat order
(:mod:`seats.layout`), the unsigned LEB128 varint of ``version * 8 + code`` (:data:`CODES`: 0
available, 1 held, 2 reserved, 3 sold, 4 blocked); the bytes are base64 (standard alphabet,
padded). A seat at version 1 takes one byte (15 and below: one byte; up to 2047: two).

Encoder and decoder live here together so that one test keeps them agreeing; the seat map script
has its own decoder (docs/api.md shows it in JavaScript and Python).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

ENCODING = "varint-base64"
# The status codes of the live form, by code.
CODES = ("available", "held", "reserved", "sold", "blocked")
CODE_OF = {status: code for code, status in enumerate(CODES)}
BLOCKED = CODE_OF["blocked"]


def encode_values(values: Iterable[int]) -> str:
    """base64 of the unsigned LEB128 varints of ``values`` (each ``version * 8 + code``)."""
    out = bytearray()
    append = out.append
    for value in values:
        while value > 0x7F:
            append((value & 0x7F) | 0x80)
            value >>= 7
        append(value)
    return base64.b64encode(bytes(out)).decode("ascii")


def encode_live(pairs: Iterable[tuple[str, int]]) -> str:
    """Encode ``[(status, version), ...]`` (a :data:`CODES` status, a version ≥ 0) in order."""
    return encode_values(version * 8 + CODE_OF[status] for status, version in pairs)


def decode_live(data: str, count: int) -> list[tuple[str, int]]:
    """Decode the ``data`` of a live form of ``count`` seats to ``[(status, version), ...]``.

    Raises:
        ValueError: ``data`` is not base64, holds another number of seats than ``count``, ends
            inside a varint, or names a code that is not one of :data:`CODES`.
    """
    raw = base64.b64decode(data, validate=True)
    pairs: list[tuple[str, int]] = []
    value = shift = 0
    for byte in raw:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        code = value & 7
        if code >= len(CODES):
            raise ValueError(f"seat {len(pairs)}: unknown status code {code}")
        pairs.append((CODES[code], value >> 3))
        value = shift = 0
    if shift:
        raise ValueError("the data ends inside a varint")
    if len(pairs) != count:
        raise ValueError(f"{len(pairs)} seats in the data, {count} expected")
    return pairs
