"""Multi-row reads and writes of one model, for the jobs that touch a whole book at once.

Not `bulk_create` / `bulk_update`: for a day's loan book or notice batch those spend most
of their time building a model instance per row and preparing each of its fields one by
one, `bulk_update` writes a CASE per column, and on SQLite every statement is cut at 999
parameters, so the number of queries grows with the book. Here a row is a plain tuple of
the varying columns' values (already in the types the driver takes: str, int, Decimal,
date, aware datetime, None); every other column is prepared once per write.

- `fetch_in`: the rows whose `key` is one of many values, converted as the ORM would;
- `BulkInsert`: one INSERT for many rows; columns not named get `fixed` values or their
  field's default (auto_now / auto_now_add: the time of the write), so a field added to
  the model later needs no change here;
- `BulkUpdate`: one UPDATE for many rows, each row naming its key last.

PostgreSQL gets each column as one array (UNNEST, as Django's own bulk insert does):
one statement per call, whatever its size. Other databases get one `executemany`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.db import connections, models, router
from django.utils import timezone

# SQLite's historical limit of host parameters in one statement; newer builds allow more,
# but nothing is gained by relying on that.
SQLITE_MAX_PARAMS = 999


def _connection(model, using: str | None, write: bool):
    if using is None:
        using = router.db_for_write(model) if write else router.db_for_read(model)
    return connections[using]


def _field(model, name: str) -> models.Field:
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def _pg_type(field: models.Field, connection) -> str:
    # Without the length: a cast to varchar(n) would silently truncate a longer value.
    return field.db_type(connection).split("(")[0]


def _auto_time(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def fetch_in(
    model, fields: Sequence[str], *, key: str, values: Sequence, using: str | None = None
) -> list[tuple]:
    """`SELECT fields FROM model WHERE key IN values`, as tuples in `fields` order, with
    decimals as Decimal and dates as date on every database (a raw SQLite cursor hands
    back floats and text). No order is promised."""
    if not values:
        return []
    connection = _connection(model, using, write=False)
    qn = connection.ops.quote_name
    columns = [_field(model, name) for name in fields]
    table = qn(model._meta.db_table)
    select = ", ".join(qn(f.column) for f in columns)
    key_field = _field(model, key)
    found: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT {select} FROM {table} WHERE {qn(key_field.column)} = ANY(%s::{_pg_type(key_field, connection)}[])",  # noqa: S608
                [list(values)],
            )
            found = cursor.fetchall()
        else:
            step = SQLITE_MAX_PARAMS if connection.vendor == "sqlite" else 10_000
            values = list(values)
            for start in range(0, len(values), step):
                part = values[start : start + step]
                cursor.execute(
                    f"SELECT {select} FROM {table} WHERE {qn(key_field.column)} IN ({', '.join(['%s'] * len(part))})",  # noqa: S608
                    part,
                )
                found.extend(cursor.fetchall())
    converters = [_converter(f, connection) for f in columns]
    if not any(converters):
        return found
    return [
        tuple(
            value if convert is None else convert(value)
            for value, convert in zip(row, converters, strict=True)
        )
        for row in found
    ]


def _converter(field: models.Field, connection):
    if connection.vendor != "sqlite":
        return None
    if isinstance(field, models.DecimalField):
        places = field.decimal_places

        def to_decimal(value):
            if value is None or type(value) is Decimal:
                return value
            if type(value) is float:
                return Decimal(repr(round(value, places)))
            return Decimal(value)

        return to_decimal
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):

        def to_date(value):
            if type(value) is str:
                return datetime.date.fromisoformat(value[:10])
            return value

        return to_date
    return None


class BulkInsert:
    """INSERT many rows of `model`, each row a tuple of `fields` (names or attnames) in order.

    Every other concrete column gets `fixed[attname]`, else its default (auto_now and
    auto_now_add fields: the time of each write), prepared once per write."""

    def __init__(self, model, fields: Sequence[str], *, using: str | None = None, **fixed):
        meta = model._meta
        self.model, self.using, self.fixed = model, using, fixed
        self.varying = [_field(model, name) for name in fields]
        names = {f.attname for f in self.varying}
        self.constant = [
            f
            for f in meta.concrete_fields
            if not f.primary_key
            and f.attname not in names
            and not f.generated
            and (f.has_default() or not f.has_db_default() or f.attname in fixed)
        ]

    def write(self, rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        connection = _connection(self.model, self.using, write=True)
        now = timezone.now()
        constants = []
        for f in self.constant:
            if f.attname in self.fixed:
                value = self.fixed[f.attname]
            elif _auto_time(f):
                value = now
            else:
                value = f.get_default()
            constants.append(f.get_db_prep_save(value, connection))
        qn = connection.ops.quote_name
        table = qn(self.model._meta.db_table)
        names = ", ".join(qn(f.column) for f in (*self.varying, *self.constant))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                fixed = "".join(f", %s::{_pg_type(f, connection)}" for f in self.constant)
                arrays = ", ".join(f"%s::{_pg_type(f, connection)}[]" for f in self.varying)
                cursor.execute(
                    f"INSERT INTO {table} ({names}) SELECT *{fixed} FROM UNNEST({arrays})",  # noqa: S608
                    [*constants, *(list(column) for column in zip(*rows, strict=True))],
                )
            else:
                placeholders = ", ".join(["%s"] * (len(self.varying) + len(self.constant)))
                tail = tuple(constants)
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608
                    [(*row, *tail) for row in rows],
                )


class BulkUpdate:
    """UPDATE many rows of `model`: each row is the new values of `fields`, then its `key`.

    `fixed` columns get the same value in every row (e.g. `last_import_id`); with
    `touch=True` the auto_now fields not named are set to the time of the write, as
    `save()` would."""

    def __init__(
        self,
        model,
        fields: Sequence[str],
        *,
        key: str = "pk",
        touch: bool = False,
        using: str | None = None,
        **fixed,
    ):
        self.model, self.using, self.fixed = model, using, fixed
        self.varying = [_field(model, name) for name in fields]
        self.key = _field(model, key)
        named = {f.attname for f in self.varying} | set(fixed)
        self.fixed_fields = [_field(model, name) for name in fixed]
        self.touched = (
            [
                f
                for f in model._meta.concrete_fields
                if getattr(f, "auto_now", False) and f.attname not in named
            ]
            if touch
            else []
        )

    def write(self, rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        connection = _connection(self.model, self.using, write=True)
        now = timezone.now()
        qn = connection.ops.quote_name
        table = qn(self.model._meta.db_table)
        constants = [
            f.get_db_prep_save(self.fixed[name], connection)
            for name, f in zip(self.fixed, self.fixed_fields, strict=True)
        ]
        constants += [f.get_db_prep_save(now, connection) for f in self.touched]
        constant_sets = [f"{qn(f.column)} = %s" for f in (*self.fixed_fields, *self.touched)]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                aliases = [f"v{i}" for i in range(len(self.varying))]
                sets = [f"{qn(f.column)} = u.{a}" for f, a in zip(self.varying, aliases, strict=True)]
                arrays = ", ".join(f"%s::{_pg_type(f, connection)}[]" for f in (*self.varying, self.key))
                cursor.execute(
                    f"UPDATE {table} SET {', '.join([*sets, *constant_sets])} "  # noqa: S608
                    f"FROM UNNEST({arrays}) AS u({', '.join([*aliases, 'k'])}) "
                    f"WHERE {table}.{qn(self.key.column)} = u.k",
                    [*constants, *(list(column) for column in zip(*rows, strict=True))],
                )
            else:
                sets = [f"{qn(f.column)} = %s" for f in self.varying]
                head = tuple(constants)
                cursor.executemany(
                    f"UPDATE {table} SET {', '.join([*sets, *constant_sets])} WHERE {qn(self.key.column)} = %s",  # noqa: S608
                    [(*row[:-1], *head, row[-1]) for row in rows],
                )
