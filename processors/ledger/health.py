"""The ledger's record of how each part of the service is doing.

A refused Amazon login or a failing step leaves every line where it was, so nothing in
the lines shows it; without this record an operator would see a queue that silently
stops moving. One row per component ("amazon_login", "step:batch", ...) holds its state,
since when it has been in that state, and the last error it met. The rows live in the
ledger, not in the process, so `status` run anywhere (and every worker sharing a
PostgreSQL ledger) sees the same picture, and a restart does not forget a refused login.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from feeds.excerpt import clip
from processors.ledger.engine import IMMEDIATE
from processors.ledger.schema import health
from processors.ledger.store import Ledger

OK = "ok"
FAILING = "failing"  # the component's step fails; it is retried with backoff
REFUSED = "refused"  # Amazon (or SFTP) refuses the credentials

#: The component for the Amazon login (LWA token, SP-API roles).
AMAZON_LOGIN = "amazon_login"

#: A stored error is a message for a person; a few hundred characters say it.
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Health:
    component: str
    state: str
    since: datetime  # when the component entered ``state``
    last_error: str | None
    last_error_at: datetime | None
    updated_at: datetime

    @property
    def ok(self) -> bool:
        return self.state == OK


def step_component(step: str) -> str:
    return f"step:{step}"


def login_component(account: str | None) -> str:
    """The component of one account's Amazon login: ``amazon_login`` for the only account
    of a single-account service (as before accounts), ``amazon_login:acme@EU`` for each
    account of a service with several, so one refused login is seen as that account's."""
    return AMAZON_LOGIN if account is None else f"{AMAZON_LOGIN}:{account}"


def is_login(component: str) -> bool:
    return component == AMAZON_LOGIN or component.startswith(AMAZON_LOGIN + ":")


def login_account(component: str) -> str | None:
    """The account a login component is of; None for the single-account one."""
    return component.partition(":")[2] or None


def record(
    ledger: Ledger, component: str, state: str, now: datetime, error: str | None = None
) -> Health:
    """Set a component's state; ``since`` moves only when the state changes, so "refused
    since 14:02" stays 14:02 through every retry. An OK keeps the last error for `status`."""
    if error is not None:
        error = clip(error, MAX_ERROR_CHARS)
    conn = ledger.engine.connect().execution_options(**{IMMEDIATE: True})
    with conn, conn.begin():
        return _upsert(conn, component, state, now, error)


def record_ok(ledger: Ledger, components: Sequence[str], now: datetime) -> None:
    """Several components OK in one transaction: a pass over a thousand inboxes would
    otherwise commit a thousand times (on SQLite, most of the pass's time)."""
    if not components:
        return
    conn = ledger.engine.connect().execution_options(**{IMMEDIATE: True})
    with conn, conn.begin():
        for component in components:
            _upsert(conn, component, OK, now, None)


def _upsert(
    conn: Connection, component: str, state: str, now: datetime, error: str | None
) -> Health:
    q = select(health).where(health.c.component == component)
    if conn.dialect.name != "sqlite":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    values: dict[str, object] = {"state": state, "updated_at": now}
    if error is not None:
        values.update(last_error=error, last_error_at=now)
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(health).values(component=component, since=now, **values))
        except IntegrityError:  # another worker inserted it first: update theirs
            return _upsert(conn, component, state, now, error)
    else:
        if row["state"] != state:
            values["since"] = now
        conn.execute(update(health).where(health.c.component == component).values(**values))
    found = conn.execute(select(health).where(health.c.component == component)).mappings()
    return Health(**found.one())


def read(ledger: Ledger) -> list[Health]:
    """Every component's row, by name."""
    with ledger.reading() as conn:
        rows = conn.execute(select(health).order_by(health.c.component)).mappings().all()
    return [Health(**r) for r in rows]
