"""The hand-written statements of the hot path, and what they share.

Only where bench/README.md shows that compiling the query with the ORM costs more CPU than the
database spends running it: :func:`update` (the row updates of every hold, release and order),
:func:`seats.locks.lock_showtime_seats` (the seat lock) and the few reads every hold, release
and order makes (:func:`fetch_one`, :func:`fetch_claims`, :func:`showtime_seat_ids`,
:func:`buyer_usage`; each docstring names its ORM form). Everything else is ORM.

Rules for this module: every table and column name comes from the model's ``_meta``
(``db_table``, ``field.column``) quoted by the connection; values go through the field's own
preparation (``get_db_prep_save``/``get_db_prep_value``) and conversion
(:func:`converters`); the connection is the one the database router chooses for the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from django.db import NotSupportedError, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.options import Options

from .models import Hold, Seat, SeatClaim, SeatStatus, ShowtimeSeat

M = TypeVar("M", bound=models.Model)


def connection_for(model: type[models.Model]) -> BaseDatabaseWrapper:
    """The connection that writes ``model`` (``router.db_for_write``)."""
    return connections[router.db_for_write(model)]


def column(
    model: type[models.Model], name: str, connection: BaseDatabaseWrapper, alias: str | None = None
) -> str:
    """The quoted column of field ``name`` of ``model`` (``alias."col"`` with ``alias``)."""
    quoted = connection.ops.quote_name(column_name(field(model._meta, name)))
    return quoted if alias is None else f"{alias}.{quoted}"


def table(model: type[models.Model], connection: BaseDatabaseWrapper) -> str:
    """The quoted table of ``model``."""
    return connection.ops.quote_name(model._meta.db_table)


def join(model: type[models.Model], alias: str, on: str, connection: BaseDatabaseWrapper) -> str:
    """``JOIN <model's table> alias ON alias.<primary key> = on`` (``on``: a quoted column)."""
    return (
        f"JOIN {table(model, connection)} {alias} "
        f"ON {column(model, model._meta.pk.name, connection, alias)} = {on}"
    )


def field(meta: Options, name: str) -> models.Field:
    """The concrete field ``name`` of a model's ``_meta`` (``get_field`` also finds reverse
    relations, which have no column)."""
    found = meta.get_field(name)
    assert isinstance(found, models.Field), name
    return found


def column_name(field: models.Field) -> str:
    """The (unquoted) column of a concrete ``field`` (a field without one has ``column=None``)."""
    assert field.column is not None, field.name
    return field.column


def placeholders(n: int) -> str:
    """``%s, %s, …`` (``n`` of them), for an ``IN (…)`` list."""
    return ", ".join(["%s"] * n)


_converters: dict[tuple[str, models.Field, str], list] = {}


def converters(field: models.Field, alias: str, connection: BaseDatabaseWrapper) -> list:
    """The ORM's conversions of ``field``'s column (read through table alias ``alias``), kept per
    database vendor, field and alias (they depend on nothing else)."""
    key = (connection.vendor, field, alias)
    found = _converters.get(key)
    if found is None:
        col = field.get_col(alias)
        found = _converters[key] = [
            (conv, col)
            for conv in connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        ]
    return found


def convert(
    row: Sequence[Any], columns: Sequence[list], connection: BaseDatabaseWrapper
) -> list[Any]:
    """Apply :func:`converters` (one list per column) to a fetched row."""
    values = list(row)
    for i, convs in enumerate(columns):
        for conv, col in convs:
            values[i] = conv(values[i], col, connection)
    return values


_checked: set[type[models.Model]] = set()


def _refuse_auto_now(model: type[models.Model]) -> None:
    """:func:`update` sets only the columns it is given. A field whose ``pre_save`` changes it on
    every save (``auto_now``) would be left stale, so such models are refused (none of the models
    written here has one: ``test_update_refuses_models_with_auto_now_fields``)."""
    if model in _checked:
        return
    stale = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    if stale:
        raise TypeError(f"update() cannot write {model.__name__}: auto_now fields {stale}.")
    _checked.add(model)


# Pairs per statement of update_each: 2 parameters each, under SQLite's 32,766 and PostgreSQL's
# 65,535 parameters a statement.
UPDATE_EACH_BATCH = 5000


def update_each(model: type[models.Model], attname: str, values: dict[Any, Any]) -> int:
    """Set column ``attname`` of each ``model`` row to its own value: ``values`` is ``{primary
    key: value}``. ``UPDATE … FROM (VALUES …) AS v WHERE pk = v.k`` (PostgreSQL; SQLite 3.33+),
    in statements of :data:`UPDATE_EACH_BATCH` rows. Returns the rows changed.

    What ``bulk_update(objs, [attname], batch_size=500)`` does: its ``CASE WHEN pk = … THEN …``
    of 500 branches is read for every row, so it grew with the square of the rows, 17 s for the
    draw of 50,000 waiting-room entries here (bench/README.md "Issue #19"); the join on ``v``
    stays linear.

    Raises:
        TypeError: ``model`` has an ``auto_now`` field (see :func:`_refuse_auto_now`).
    """
    if not values:
        return 0
    _refuse_auto_now(model)
    connection = connection_for(model)
    quote = connection.ops.quote_name
    meta = model._meta
    pk, target = meta.pk, field(meta, attname)
    pk_column, target_column = quote(column_name(pk)), quote(column_name(target))
    items = list(values.items())
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), UPDATE_EACH_BATCH):
            batch = items[start : start + UPDATE_EACH_BATCH]
            params: list[Any] = []
            for key, value in batch:
                params.append(pk.get_db_prep_value(key, connection, prepared=False))
                params.append(target.get_db_prep_save(value, connection))
            rows = ", ".join(["(%s, %s)"] * len(batch))
            # SQLite names the columns of a VALUES list column1, column2 and takes no column
            # aliases (and its Python driver counts no rows for a statement that starts with WITH)
            k, val, alias = (
                ("v.column1", "v.column2", "v")
                if connection.vendor == "sqlite"
                else ("v.k", "v.val", "v(k, val)")
            )
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} SET {target_column} = {val} "
                f"FROM (VALUES {rows}) AS {alias} WHERE {quote(meta.db_table)}.{pk_column} = {k}",
                params,
            )
            changed += cursor.rowcount
    return changed


def update(
    model: type[models.Model],
    pks: Sequence[Any],
    values: dict[str, Any],
    increments: dict[str, int] | None = None,
) -> int:
    """``UPDATE`` the ``model`` rows whose primary key is in ``pks``: set each column of
    ``values`` (``{attname: value}``, prepared for saving as the ORM does) and add to each of
    ``increments`` (``{attname: n}``, like ``F(name) + n``). One statement, no model instances,
    no signals (as ``QuerySet.update``). Returns the number of rows changed.

    What ``model.objects.filter(pk__in=pks).update(**values, **{k: F(k) + n})`` does, without
    compiling a query (bench/README.md, "Issue #15").

    Raises:
        TypeError: ``model`` has an ``auto_now`` field (see :func:`_refuse_auto_now`).
    """
    if not pks:
        return 0
    _refuse_auto_now(model)
    connection = connection_for(model)
    quote = connection.ops.quote_name
    meta = model._meta
    assignments, params = [], []
    for attname, value in values.items():
        target = field(meta, attname)
        assignments.append(f"{quote(column_name(target))} = %s")
        params.append(target.get_db_prep_save(value, connection))
    for attname, n in (increments or {}).items():
        name = quote(column_name(field(meta, attname)))
        assignments.append(f"{name} = {name} + %s")
        params.append(int(n))
    pk = meta.pk
    params += [pk.get_db_prep_value(value, connection, prepared=False) for value in pks]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {quote(column_name(pk))} IN ({placeholders(len(pks))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- Reads of the hold and release paths ---------------------------------------------------------
# Each is what the ORM form in its docstring returns, without compiling it (bench/README.md,
# "Issue #15": with these reads in the ORM a hold + release cycle cost about a third more CPU).


def _in_range(field: models.Field, value: Any, connection: BaseDatabaseWrapper) -> bool:
    target = getattr(field, "target_field", field)
    if not isinstance(value, int) or not isinstance(target, models.IntegerField):
        return True
    low, high = connection.ops.integer_field_range(target.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)


def _where(
    model: type[models.Model], where: dict[str, Any], alias: str, connection: BaseDatabaseWrapper
) -> tuple[str, list[Any]] | None:
    """``AND``-ed equalities on ``alias``'s columns (``where``: ``{attname: value}``) and their
    parameters (``pk`` names the primary key); ``None`` when no row can match (an integer out of
    its column's range)."""
    conditions, params = [], []
    for attname, value in where.items():
        target = model._meta.pk if attname == "pk" else field(model._meta, attname)
        if not _in_range(target, value, connection):
            return None
        conditions.append(f"{alias}.{connection.ops.quote_name(column_name(target))} = %s")
        params.append(target.get_db_prep_value(value, connection, prepared=False))
    return " AND ".join(conditions), params


def _columns_of(model: type[models.Model], alias: str, connection: BaseDatabaseWrapper) -> str:
    return ", ".join(
        f"{alias}.{connection.ops.quote_name(column_name(f))}" for f in model._meta.concrete_fields
    )


def _select(
    sql: str,
    params: list[Any],
    parts: Sequence[tuple[type[models.Model], str]],
    connection: BaseDatabaseWrapper,
) -> list[list[models.Model]]:
    """Run ``sql`` whose columns are the concrete columns of each ``(model, alias)`` of ``parts``
    in turn; return one list of instances (one per part) per row (``Model.from_db``)."""
    columns: list[list] = []
    spans: list[tuple[type[models.Model], list[str], int, int]] = []
    for model, alias in parts:
        fields = model._meta.concrete_fields
        spans.append((model, [f.attname for f in fields], len(columns), len(fields)))
        columns += [converters(f, alias, connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        values = convert(row, columns, connection)
        out.append(
            [
                model.from_db(connection.alias, attnames, values[start : start + n])
                for model, attnames, start, n in spans
            ]
        )
    return out


def fetch_one(
    model: type[M], where: dict[str, Any], *, lock: bool = False, related: str | None = None
) -> M | None:
    """The one ``model`` row matching ``where`` (``{attname: value}``, equalities, at most one
    row), or ``None``: ``model.objects.filter(**where).first()``. With ``lock`` ``FOR UPDATE``
    (one table, so only that row; services lock through :func:`seats.locks.lock_one`).

    ``related``: a foreign key of ``model`` (``"showtime"``) whose row is read in the same
    statement and set on the instance, ``select_related(related)``; a lock still covers
    ``model``'s row alone (``FOR UPDATE OF``), the joined row is only read.

    Raises:
        NotSupportedError: ``lock`` and ``related`` on a backend with ``FOR UPDATE`` but
            without ``FOR UPDATE OF`` (it would lock the joined row too).
    """
    connection = connection_for(model)
    condition = _where(model, where, "t", connection)
    if condition is None:
        return None
    parts: list[tuple[type[models.Model], str]] = [(model, "t")]
    source = f"{table(model, connection)} t"
    if related is not None:
        target = cast(type[models.Model], field(model._meta, related).related_model)
        parts.append((target, "r"))
        source += " " + join(target, "r", column(model, related, connection, "t"), connection)
    sql = (
        f"SELECT {', '.join(_columns_of(m, alias, connection) for m, alias in parts)} "
        f"FROM {source} WHERE {condition[0]}"
    )
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
        if related is not None:
            if not connection.features.has_select_for_update_of:
                raise NotSupportedError("fetch_one(lock=True, related=...) needs FOR UPDATE OF.")
            sql += " OF t"
    rows = _select(sql, condition[1], parts, connection)
    if not rows:
        return None
    row = cast(M, rows[0][0])  # the first part is a ``model`` row
    if related is not None:
        setattr(row, related, rows[0][1])  # the descriptor caches it, as select_related does
    return row


def fetch_claims(where: dict[str, Any]) -> list[SeatClaim]:
    """Seat claims matching ``where`` (``{attname: value}`` on ``SeatClaim``), ordered by showtime
    seat, each with ``showtime_seat`` and ``showtime_seat.seat``: ``SeatClaim.objects.filter(
    **where).select_related("showtime_seat__seat").order_by("showtime_seat_id")``."""
    connection = connection_for(SeatClaim)
    condition = _where(SeatClaim, where, "c", connection)
    if condition is None:
        return []
    claim_seat = column(SeatClaim, "showtime_seat", connection, "c")
    sql = (
        f"SELECT {_columns_of(SeatClaim, 'c', connection)}, "
        f"{_columns_of(ShowtimeSeat, 'ss', connection)}, {_columns_of(Seat, 's', connection)} "
        f"FROM {table(SeatClaim, connection)} c "
        f"{join(ShowtimeSeat, 'ss', claim_seat, connection)} "
        f"{join(Seat, 's', column(ShowtimeSeat, 'seat', connection, 'ss'), connection)} "
        f"WHERE {condition[0]} ORDER BY {claim_seat}"
    )
    claims = []
    for row in _select(
        sql, condition[1], [(SeatClaim, "c"), (ShowtimeSeat, "ss"), (Seat, "s")], connection
    ):
        claim, inventory = cast(SeatClaim, row[0]), cast(ShowtimeSeat, row[1])
        inventory.seat = cast(Seat, row[2])
        claim.showtime_seat = inventory
        claims.append(claim)
    return claims


def showtime_seat_ids(showtime_id: int, plan_id: int, guids: Sequence[Any]) -> dict[Any, int]:
    """``{seat guid: showtime seat id}`` for those of ``guids`` (``uuid.UUID``) that are seats of
    the showtime, whose seating plan is ``plan_id``: ``dict(ShowtimeSeat.objects.filter(
    showtime_id=…, seat__guid__in=guids).values_list("seat__guid", "pk"))``.

    The plan narrows the seats to the plan's unique ``(plan, guid)`` index: without it the guid
    matched every seat of every plan (a scan of the seat table, 1.65 ms a call on one 1,252-seat
    plan under a prepared statement's generic plan; bench/README.md, "Issue #20")."""
    if not guids:
        return {}
    connection = connection_for(ShowtimeSeat)
    guid = Seat._meta.get_field("guid")
    sql = (
        f"SELECT {column(Seat, 'guid', connection, 's')}, "
        f"{column(ShowtimeSeat, 'id', connection, 'ss')} "
        f"FROM {table(ShowtimeSeat, connection)} ss "
        f"{join(Seat, 's', column(ShowtimeSeat, 'seat', connection, 'ss'), connection)} "
        f"WHERE {column(ShowtimeSeat, 'showtime', connection, 'ss')} = %s "
        f"AND {column(Seat, 'plan', connection, 's')} = %s "
        f"AND {column(Seat, 'guid', connection, 's')} IN ({placeholders(len(guids))})"
    )
    params = [showtime_id, plan_id]
    params += [guid.get_db_prep_value(g, connection, prepared=False) for g in guids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    columns = [converters(guid, "s", connection), []]
    return dict(convert(row, columns, connection) for row in rows)


def buyer_usage(user_id: int, showtime_id: int, now: Any) -> tuple[int, int]:
    """``(seats, pending orders)`` of a buyer on a showtime at ``now``, the rule of
    :func:`seats.selectors.buyer_usage`: live claims (``SeatClaim.objects.live(now)``) of the
    buyer's holds on ``held``/``reserved`` seats, and the distinct holds of the ``reserved`` ones.
    One statement (``test_the_count_on_seats_agrees_with_holds_and_orders_at_every_moment``)."""
    connection = connection_for(SeatClaim)
    held, reserved = SeatStatus.HELD, SeatStatus.RESERVED
    claim_hold = column(SeatClaim, "hold", connection, "c")
    status = column(ShowtimeSeat, "status", connection, "ss")
    claim_seat_id = column(SeatClaim, "showtime_seat", connection, "c")
    sql = (
        f"SELECT COUNT(*), COUNT(DISTINCT CASE WHEN {status} = %s THEN {claim_hold} END) "
        f"FROM {table(SeatClaim, connection)} c {join(Hold, 'h', claim_hold, connection)} "
        f"{join(ShowtimeSeat, 'ss', claim_seat_id, connection)} "
        f"WHERE {column(SeatClaim, 'is_live', connection, 'c')} "
        f"AND {column(Hold, 'user', connection, 'h')} = %s "
        f"AND {column(Hold, 'showtime', connection, 'h')} = %s "
        f"AND {status} IN (%s, %s) "
        f"AND {column(ShowtimeSeat, 'expires_at', connection, 'ss')} > %s"
    )
    when = ShowtimeSeat._meta.get_field("expires_at").get_db_prep_value(
        now, connection, prepared=False
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [reserved, user_id, showtime_id, held, reserved, when])
        seats, orders = cursor.fetchone()
    return int(seats), int(orders)
