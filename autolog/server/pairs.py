"""Key/value rows of an entity (its tags, params, aliases): set and delete, as every store does.

Experiments, runs, logged models and registered models each keep such rows in a
table of their own keyed by the owner's columns and ``key``; these two helpers
are the one way they are written.
"""

from __future__ import annotations

import sqlalchemy as sa

from .database import Database
from .errors import not_found


def upsert_pairs(
    db: Database, conn: sa.Connection, table: sa.Table, owner: dict, pairs: list[dict]
) -> None:
    """Insert or replace key/value rows (tags, params) of the entity ``owner`` names."""
    if not pairs:
        return
    values = {p["key"]: p["value"] for p in pairs}
    stmt = db.insert(table)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[*(table.c[k] for k in owner), table.c.key],
            set_={"value": stmt.excluded.value},
        ),
        [{**owner, "key": k, "value": v} for k, v in sorted(values.items())],
    )


def delete_pair(
    conn: sa.Connection, table: sa.Table, owner: dict, key: str, missing: str, column: str = "key"
) -> None:
    """Delete the row ``column`` = ``key`` of the entity ``owner`` names (a tag, an alias);
    when there is none, the 404 whose message is ``missing``."""
    where = [table.c[name] == value for name, value in owner.items()]
    if conn.execute(table.delete().where(*where, table.c[column] == key)).rowcount == 0:
        raise not_found(missing)
