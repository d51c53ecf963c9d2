"""Pagination of the API's lists, and the id range the database can compare."""

from rest_framework.pagination import LimitOffsetPagination

# The range of the database's 64-bit integer ids (PostgreSQL ``bigint``, SQLite ``INTEGER``): a
# value outside it cannot be compared, so it is answered as "no such row" before any query.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class ListPagination(LimitOffsetPagination):
    """The lists of the API: ``{"count", "next", "previous", "results"}``, ``?limit=&offset=``
    (shared/spec/api.md, "Lists").

    ``limit`` is capped at 1000: a huge one would reach the database as an out-of-range ``LIMIT``.
    """

    max_limit = 1000
