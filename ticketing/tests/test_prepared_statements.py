"""Prepared statements on PostgreSQL (issue #20, ``DB_PREPARE_THRESHOLD``, docs/deploy.md
"Prepared statements"): on by default, a count or ``off``, anything else refused at start."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from ticketing.settings import _prepare_threshold


@pytest.mark.parametrize(
    ("value", "threshold"),
    [("5", 5), ("0", 0), (" 12 ", 12), ("off", None), ("OFF", None), ("none", None), ("", None)],
)
def test_the_threshold_is_a_count_or_off(value, threshold):
    assert _prepare_threshold(value) == threshold


@pytest.mark.parametrize("value", ["-1", "five", "5.0", "yes"])
def test_anything_else_stops_the_start(value):
    with pytest.raises(ImproperlyConfigured, match="DB_PREPARE_THRESHOLD"):
        _prepare_threshold(value)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_a_statement_run_five_times_is_prepared_on_its_connection():
    """The default: the sixth run of a statement on a connection uses a statement PostgreSQL
    prepared (``pg_prepared_statements`` of the session lists it), so it is planned once."""
    from seats.models import Show

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        before = cursor.fetchone()[0]
    for _ in range(7):
        list(Show.objects.filter(title="prepared").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert len(statements) > before
    assert any('FROM "seats_show"' in s and '"seats_show"."title" = $1' in s for s in statements)
