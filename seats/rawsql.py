"""The two hand-written statements of the hot path, and what they share.

Only where bench/README.md shows that compiling the query with the ORM costs more CPU than the
database spends running it: :func:`update` (the row updates of every hold, release and order)
and :func:`seats.locks.lock_showtime_seats` (the seat lock). Everything else is ORM.

Rules for this module: every table and column name comes from the model's ``_meta``
(``db_table``, ``field.column``) quoted by the connection; values go through the field's own
preparation (``get_db_prep_save``/``get_db_prep_value``) and conversion
(:func:`converters`); the connection is the one the database router chooses for the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper


def connection_for(model: type[models.Model]) -> BaseDatabaseWrapper:
    """The connection that writes ``model`` (``router.db_for_write``)."""
    return connections[router.db_for_write(model)]


def column(model: type[models.Model], name: str, connection: BaseDatabaseWrapper,
           alias: str | None = None) -> str:
    """The quoted column of field ``name`` of ``model`` (``alias."col"`` with ``alias``)."""
    quoted = connection.ops.quote_name(model._meta.get_field(name).column)
    return quoted if alias is None else f"{alias}.{quoted}"


def table(model: type[models.Model], connection: BaseDatabaseWrapper) -> str:
    """The quoted table of ``model``."""
    return connection.ops.quote_name(model._meta.db_table)


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
            (conv, col) for conv in
            connection.ops.get_db_converters(col) + col.get_db_converters(connection)]
    return found


def convert(row: Sequence[Any], columns: Sequence[list],
            connection: BaseDatabaseWrapper) -> list[Any]:
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


def update(model: type[models.Model], pks: Sequence[Any], values: dict[str, Any],
           increments: dict[str, int] | None = None) -> int:
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
        field = meta.get_field(attname)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    for attname, n in (increments or {}).items():
        name = quote(meta.get_field(attname).column)
        assignments.append(f"{name} = {name} + %s")
        params.append(int(n))
    pk = meta.pk
    params += [pk.get_db_prep_value(value, connection, prepared=False) for value in pks]
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
           f"WHERE {quote(pk.column)} IN ({placeholders(len(pks))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
