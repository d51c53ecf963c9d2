"""Hand-written statements for the busiest work of an on-sale, with the ORM's own conversions.

Building a query with the ORM (compiling filters, joins, ordering) cost more CPU than PostgreSQL
spent running it on the hold path (bench/README.md, "onsale": py-spy). The few statements run on
every hold, release and order are written out here instead (reads, the inserts of :func:`insert`
and the row updates of :func:`update`); everything else stays ORM. Values go
through the same converters the ORM applies (SQLite's text timestamps and hex UUIDs become
``datetime``/``UUID``), and rows become model instances with :meth:`Model.from_db`, as the ORM's
own would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models.options import Options

from .models import Seat, SeatClaim, ShowtimeSeat

M = TypeVar("M", bound=models.Model)


def quote(name: str | None) -> str:
    """A table or column name quoted for this database (a concrete field's ``column``, which
    the stubs type as optional)."""
    assert name is not None
    return connection.ops.quote_name(name)


def field(meta: Options, name: str) -> models.Field:
    """The concrete field ``name`` of a model's ``_meta`` (``get_field`` also finds reverse
    relations, which have no column)."""
    found = meta.get_field(name)
    assert isinstance(found, models.Field), name
    return found


def placeholders(n: int) -> str:
    """``%s, %s, …`` (``n`` of them), for an ``IN (…)`` list or a ``VALUES (…)`` row."""
    return ", ".join(["%s"] * n)


_converters: dict[tuple[str, models.Field, str], list] = {}


def converters(field: models.Field, alias: str) -> list:
    """The ORM's conversions of ``field``'s column (read through table alias ``alias``).

    Kept per database vendor, field and alias: they depend on nothing else (the operations they
    are bound to hold no per-connection state), and building them anew was 29 % of the CPU of
    the hand-written reads and locks of a hold (py-spy, bench/onsale.py)."""
    key = (connection.vendor, field, alias)
    found = _converters.get(key)
    if found is None:
        col = field.get_col(alias)
        found = _converters[key] = [
            (conv, col) for conv in
            connection.ops.get_db_converters(col) + col.get_db_converters(connection)]
    return found


def convert(row: Sequence[Any], columns: Sequence[list]) -> list[Any]:
    """Apply :func:`converters` (one list per column) to a fetched row."""
    values = list(row)
    for i, convs in enumerate(columns):
        for conv, col in convs:
            values[i] = conv(values[i], col, connection)
    return values


def _in_range(field: models.Field, value: Any) -> bool:
    target = getattr(field, "target_field", field)
    if not isinstance(value, int) or not isinstance(target, models.IntegerField):
        return True
    low, high = connection.ops.integer_field_range(target.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)


def _where(model: type[models.Model], where: dict[str, Any], alias: str
           ) -> tuple[str, list[Any]] | None:
    """``AND``-ed equalities on ``alias``'s columns, and their parameters; ``None`` when no row
    can match (an integer out of its column's range)."""
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    conditions, params = [], []
    for attname, value in where.items():
        field = by_attname[attname]
        if not _in_range(field, value):  # as the ORM: no row has an id the column cannot hold
            return None
        conditions.append(f"{alias}.{quote(field.column)} = %s")
        params.append(field.get_db_prep_value(value, connection, prepared=False))
    return " AND ".join(conditions), params


def _select(sql: str, params: list[Any], parts: Sequence[tuple[type[models.Model], str]]
            ) -> list[list[models.Model]]:
    """Run ``sql`` whose columns are the concrete columns of each ``(model, alias)`` of
    ``parts`` in turn; return one list of instances (one per part) per row."""
    columns: list[list] = []
    spans = []
    for model, alias in parts:
        fields = model._meta.concrete_fields
        spans.append((model, [f.attname for f in fields], len(columns), len(fields)))
        columns += [converters(f, alias) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        values = convert(row, columns)
        out.append([model.from_db(connection.alias, attnames, values[start:start + n])
                    for model, attnames, start, n in spans])
    return out


def columns_of(model: type[models.Model], alias: str) -> str:
    """``alias."col1", alias."col2", …`` for every concrete column of ``model``."""
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def fetch(model: type[M], where: dict[str, Any], *, lock: bool = False) -> list[M]:
    """``SELECT`` every column of ``model`` rows matching ``where`` (``{attname: value}``, all
    equalities, ``AND``-ed), optionally ``FOR UPDATE`` (where the database has it: on SQLite the
    ``IMMEDIATE`` transaction already holds the write lock); one table, so only its rows are
    locked. Unordered. Services lock through :func:`seats.locks.lock_one`, not with ``lock`` here
    (docs/concurrency.md, "One way to lock").

    Returns model instances, as ``model.objects.filter(**where)`` would.
    """
    condition = _where(model, where, "t")
    if condition is None:
        return []
    sql = f"SELECT {columns_of(model, 't')} FROM {quote(model._meta.db_table)} t " \
          f"WHERE {condition[0]}"
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return [row[0] for row in _select(sql, condition[1], [(model, "t")])]  # type: ignore[misc]  # instances of model


def fetch_claims(where: dict[str, Any]) -> list[SeatClaim]:
    """Seat claims matching ``where`` (``{attname: value}`` on ``SeatClaim``), ordered by
    showtime seat, each with ``showtime_seat`` and ``showtime_seat.seat`` loaded: what
    ``SeatClaim.objects.filter(**where).select_related("showtime_seat__seat")
    .order_by("showtime_seat_id")`` returns, in one hand-written statement."""
    condition = _where(SeatClaim, where, "c")
    if condition is None:
        return []
    sql = (f"SELECT {columns_of(SeatClaim, 'c')}, {columns_of(ShowtimeSeat, 'ss')}, "
           f"{columns_of(Seat, 's')} FROM {quote(SeatClaim._meta.db_table)} c "
           f"JOIN {quote(ShowtimeSeat._meta.db_table)} ss ON ss.{quote('id')} = "
           f"c.{quote('showtime_seat_id')} "
           f"JOIN {quote(Seat._meta.db_table)} s ON s.{quote('id')} = ss.{quote('seat_id')} "
           f"WHERE {condition[0]} ORDER BY c.{quote('showtime_seat_id')}")
    claims: list[SeatClaim] = []
    for claim, inventory, seat in _select(sql, condition[1], [(SeatClaim, "c"),
                                                              (ShowtimeSeat, "ss"), (Seat, "s")]):
        assert isinstance(claim, SeatClaim) and isinstance(inventory, ShowtimeSeat)
        assert isinstance(seat, Seat)
        inventory.seat = seat
        claim.showtime_seat = inventory
        claims.append(claim)
    return claims


def fetch_one(model: type[M], where: dict[str, Any], *, lock: bool = False) -> M | None:
    """The one row of :func:`fetch`, or ``None`` (``where`` must name at most one row)."""
    rows = fetch(model, where, lock=lock)
    return rows[0] if rows else None


def showtime_seat_ids(showtime_id: int, guids: Sequence[Any]) -> dict[Any, int]:
    """``{seat guid: showtime seat id}`` for those of ``guids`` (``uuid.UUID``) that are seats
    of the showtime; one statement. What ``ShowtimeSeat.objects.filter(showtime_id=…,
    seat__guid__in=guids).values_list("seat__guid", "pk")`` returns."""
    if not guids:
        return {}
    guid = Seat._meta.get_field("guid")
    sql = (f"SELECT s.{quote(guid.column)}, ss.{quote('id')} "
           f"FROM {quote(ShowtimeSeat._meta.db_table)} ss "
           f"JOIN {quote(Seat._meta.db_table)} s ON s.{quote('id')} = ss.{quote('seat_id')} "
           f"WHERE ss.{quote('showtime_id')} = %s "
           f"AND s.{quote(guid.column)} IN ({placeholders(len(guids))})")
    params = [showtime_id] + [guid.get_db_prep_value(g, connection, prepared=False)
                              for g in guids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    columns = [converters(guid, "s"), []]
    return dict(convert(row, columns) for row in rows)


def seat_states(showtime_id: int) -> list[tuple[int, str, int, Any]]:
    """``[(showtime seat id, status, version, expires_at)]`` of every seat of a showtime, as
    stored (not yet read as of a time: see ``seats.selectors.effective_state``). One statement,
    no model instances (a plan has thousands of seats)."""
    meta = ShowtimeSeat._meta
    fields = [field(meta, name) for name in ("id", "status", "version", "expires_at")]
    columns = [converters(f, "ss") for f in fields]
    sql = (f"SELECT {', '.join(f'ss.{quote(f.column)}' for f in fields)} "
           f"FROM {quote(meta.db_table)} ss WHERE ss.{quote('showtime_id')} = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [showtime_id])
        rows = cursor.fetchall()
    if not any(columns):  # PostgreSQL: psycopg already returns Python values
        return rows
    return [tuple(convert(row, columns)) for row in rows]


def buyer_usage(user_id: int, showtime_id: int, now: Any) -> tuple[int, int]:
    """``(seats, pending orders)`` a buyer has of a showtime at ``now``: what
    ``seats.selectors.buyer_usage`` counts (its ORM form is the reference; a test compares
    both), in one hand-written statement, since it runs on every hold and order (building the
    ORM aggregate cost 2–3 ms of CPU per hold: bench/README.md "onsale", issue #14). Names from
    ``_meta``; the live statuses from the models (``Hold.LIVE_STATUS``, ``Order.LIVE_STATUS``)."""
    from orders.models import Order  # orders depends on seats, not the other way round

    from .models import Hold

    claim, hold, order = SeatClaim._meta, Hold._meta, Order._meta

    def col(meta: Options, name: str) -> str:
        return quote(field(meta, name).column)

    when = connection.ops.adapt_datetimefield_value(now)
    sql = (f"SELECT COUNT(c.{col(claim, 'id')}), COUNT(DISTINCT c.{col(claim, 'order')}) "
           f"FROM {quote(claim.db_table)} c "
           f"JOIN {quote(hold.db_table)} h ON h.{col(hold, 'id')} = c.{col(claim, 'hold')} "
           f"LEFT JOIN {quote(order.db_table)} o ON o.{col(order, 'id')} = c.{col(claim, 'order')} "
           f"WHERE c.{col(claim, 'is_live')} AND h.{col(hold, 'user')} = %s "
           f"AND h.{col(hold, 'showtime')} = %s "
           f"AND ((c.{col(claim, 'order')} IS NULL AND h.{col(hold, 'status')} = %s "
           f"AND h.{col(hold, 'expires_at')} > %s) "
           f"OR (o.{col(order, 'status')} = %s AND o.{col(order, 'expires_at')} > %s))")
    params: list[Any] = [user_id, showtime_id, Hold.LIVE_STATUS, when, Order.LIVE_STATUS, when]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        seats, orders = cursor.fetchone()
    return int(seats), int(orders)


def update(model: type[models.Model], pks: Sequence[Any], values: dict[str, Any],
           increments: dict[str, int] | None = None) -> int:
    """``UPDATE`` the ``model`` rows whose primary key is in ``pks``: set each column of
    ``values`` (``{attname: value}``, prepared for saving as the ORM does) and add to each of
    ``increments`` (``{attname: n}``, like ``F(name) + n``). One statement, no model instances,
    no signals (as ``QuerySet.update``). Returns the number of rows changed.

    What ``model.objects.filter(pk__in=pks).update(**values, **{k: F(k) + n})`` does, without
    compiling a query (bench/README.md, "onsale": half the CPU of a release went there).
    """
    if not pks:
        return 0
    meta = model._meta
    assignments, params = [], []
    for attname, value in values.items():
        target = field(meta, attname)
        assignments.append(f"{quote(target.column)} = %s")
        params.append(target.get_db_prep_save(value, connection))
    for attname, n in (increments or {}).items():
        column = quote(field(meta, attname).column)
        assignments.append(f"{column} = {column} + %s")
        params.append(int(n))
    pk = meta.pk
    params += [pk.get_db_prep_value(value, connection, prepared=False) for value in pks]
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
           f"WHERE {quote(pk.column)} IN ({placeholders(len(pks))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert(objs: Sequence[M]) -> Sequence[M]:
    """``INSERT`` new instances of one model in one statement and return them saved: primary keys
    set (``RETURNING`` where the key is generated), ``auto_now_add`` and defaults filled in as
    ``Model.save`` fills them (``Field.pre_save``). Like ``QuerySet.bulk_create``, no
    ``pre_save``/``post_save`` signals are sent (no model written here has receivers).

    What ``bulk_create`` (or ``objects.create`` for one) does, without compiling the query
    (bench/README.md, "onsale": the ORM's inserts were a seventh of a hold's CPU). Falls back to
    ``bulk_create`` on a database that cannot return rows from an insert.

    Raises:
        django.db.IntegrityError: a constraint refused a row (nothing is inserted).
    """
    if not objs:
        return objs
    model = type(objs[0])
    if not connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    pk = meta.pk
    generated = pk.db_returning  # an AutoField: the database makes the key
    fields = [f for f in meta.concrete_fields if not (generated and f is pk)]
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection)
              for obj in objs for f in fields]
    row = f"({placeholders(len(fields))})"
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES {', '.join([row] * len(objs))}")
    if generated:
        sql += f" RETURNING {quote(pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall() if generated else None
    for i, obj in enumerate(objs):
        if keys is not None:
            obj.pk = keys[i][0]
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs
