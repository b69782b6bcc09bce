"""Lists of line ids in a WHERE clause, the way each backend takes them best.

The ledger's set-based steps (a whole feed submitted, confirmed or requeued; the overview's
totals; a chunk of lines read by id) name up to 5,000 ids per statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    any_,
    bindparam,
    column,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

#: ``ids_in`` sends an id list as one parameter (an array on PostgreSQL, a JSON list on
#: SQLite); off, as a list of parameters: the reference the single parameter is held equal
#: to (tests/test_ledger_set_based.py).
ONE_PARAMETER = True


def ids_in(conn: Connection, col: ColumnElement[Any], ids: Sequence[int]) -> ColumnElement[bool]:
    """``col IN ids`` with the list as ONE bound parameter: ``col = ANY(array)`` on
    PostgreSQL, ``col IN (SELECT value FROM json_each(list))`` on SQLite. 5,000 rendered
    placeholders per statement cost more to compile in SQLAlchemy and to split in psycopg
    (Python, per character of the query) than the database's own work on the rows."""
    if not ONE_PARAMETER:
        return col.in_(ids)
    if conn.dialect.name == "postgresql":
        return col == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    listed: Select[Any] = select(column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(list(ids))))
    )
    return col.in_(listed.scalar_subquery())
