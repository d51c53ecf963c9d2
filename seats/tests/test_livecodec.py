"""The live form's codec (seats.livecodec; docs/api.md "Live form"): what the server encodes,
a client decodes to the same statuses and versions, whatever the versions."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seats.livecodec import CODES, decode_live, encode_live


def test_small_versions_take_one_byte_per_seat():
    pairs = [("available", 1), ("held", 2), ("reserved", 3), ("sold", 4), ("blocked", 0)]
    data = encode_live(pairs)
    assert base64.b64decode(data) == bytes([1 * 8 + 0, 2 * 8 + 1, 3 * 8 + 2, 4 * 8 + 3, 4])
    assert decode_live(data, 5) == pairs


def test_varints_are_unsigned_leb128():
    # 16 * 8 + 1 = 129 = 0b1_0000001 → 0x81 0x01
    assert base64.b64decode(encode_live([("held", 16)])) == b"\x81\x01"
    assert decode_live(base64.b64encode(b"\x81\x01").decode(), 1) == [("held", 16)]


def test_large_versions_round_trip():
    pairs = [("sold", 2**35 + 1), ("available", 2**40), ("blocked", 2**63), ("held", 0)]
    assert decode_live(encode_live(pairs), 4) == pairs


def test_no_seats_is_an_empty_string():
    assert encode_live([]) == ""
    assert decode_live("", 0) == []


@pytest.mark.parametrize(
    ("data", "count", "why"),
    [
        (base64.b64encode(b"\x08\x09").decode(), 3, "2 seats in the data, 3 expected"),
        (base64.b64encode(b"\x81").decode(), 1, "ends inside a varint"),
        (base64.b64encode(b"\x0d").decode(), 1, "unknown status code 5"),
        ("not base64!", 1, "base64|Non-base64|Incorrect padding"),
    ],
)
def test_broken_data_is_refused(data, count, why):
    with pytest.raises(ValueError, match=why):
        decode_live(data, count)


@given(st.lists(st.tuples(st.sampled_from(CODES), st.integers(0, 2**64))))
def test_round_trip(pairs):
    assert decode_live(encode_live(pairs), len(pairs)) == pairs
