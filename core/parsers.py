"""DRF's JSON parser with a cap on nesting depth (issue #14; api.md "Errors": 400 ``malformed_json``).

A body of 20,000 ``[`` fits in the 64 KiB API body limit and made Python's JSON decoder raise
``RecursionError``, which DRF's parser does not catch (a 500). No request of the API nests deeper
than 3 levels (an order's ``customer`` object).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def nesting_depth(value: object) -> int:
    """The nesting depth of a decoded JSON value: 0 for a scalar, 1 for ``[]``/``{}``, +1 per
    level. Iterative, so any depth is measured without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in item if isinstance(child, (list, dict)))
    return deepest


def _too_deep() -> str:
    return _("JSON nested deeper than %(depth)s levels.") % {"depth": MAX_DEPTH}


class JSONParser(parsers.JSONParser):
    """``rest_framework.parsers.JSONParser`` that refuses JSON nested deeper than
    :data:`MAX_DEPTH` (32) arrays/objects with ``ParseError``, which the exception handler answers
    400 ``malformed_json``."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # deeper than the interpreter's recursion limit
            raise ParseError(_too_deep()) from None
        if nesting_depth(data) > MAX_DEPTH:
            raise ParseError(_too_deep())
        return data
