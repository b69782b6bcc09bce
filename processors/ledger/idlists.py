"""Lists of line ids in a WHERE clause, the way each backend takes them best.

The ledger's set-based steps (a whole feed submitted, confirmed or requeued; the overview's
totals; a chunk of lines read by id) name up to 5,000 ids per statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

#: ``ids_in`` sends an id list as one array on PostgreSQL; off, as a list of parameters
#: there too (the reference the array is held equal to, tests/test_ledger_set_based.py).
PG_ARRAYS = True


def ids_in(conn: Connection, col: ColumnElement[Any], ids: Sequence[int]) -> ColumnElement[bool]:
    """``col IN ids``. On PostgreSQL ``col = ANY(array)``, one parameter: 5,000 rendered
    placeholders per statement cost more to compile in SQLAlchemy and to split in psycopg
    (Python, per character of the query) than the database's own work on the rows."""
    if PG_ARRAYS and conn.dialect.name == "postgresql":
        return col == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return col.in_(ids)
