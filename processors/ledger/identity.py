"""The ledger's record of which Amazon it confirms shipments with, and the start check.

A ``confirmed`` line only means something together with the Amazon that confirmed it.
The built-in simulator "confirms" every well-formed line, so a ledger that ran against
it and is later given real credentials would take the seller's real orders for
duplicates of lines Amazon never saw, and never send them. The first service start
therefore records, per seller, the Amazon its settings name (simulated or real, region,
SP-API endpoint, merchant id), and every later start compares its settings with that
record and refuses (AmazonIdentityMismatch) before it opens an inbox or moves a line.

Why the record is enough to tell simulated confirmations from real ones forever: the
record is written once and a start that disagrees with it is refused, so a ledger never
switches between the simulator and Amazon (nor between regions, endpoints or merchants
of a seller). Every line, feed and event in it carries its seller, and that seller's row
here says which Amazon the line was confirmed with; no per-line flag is needed.

What is recorded is not secret: LWA credentials identify the application and are kept
out of the ledger; the selling partner is the merchant id each seller is configured with
(for the simulator: ``simulated``). The mode (simulated or real) is the same for every
row; region, endpoint and merchant id are per seller, since each seller may be on its own
account in its own region, so a seller added to the settings later, on any region, is
simply recorded on the next start, and a recorded seller moved to another region or
endpoint is refused.

A ledger from before this record existed has history but no rows: its first start
records what its settings say, and says in the log that earlier lines cannot be
attributed (nothing in them tells a simulated confirmation from a real one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from config.settings import Settings
from feeds.errors import AmazonIdentityMismatch
from feeds.spapi.client import REGION_ENDPOINTS
from processors.ledger.engine import IMMEDIATE, make_engine
from processors.ledger.schema import amazon_identity, files
from processors.ledger.store import Ledger

log = logging.getLogger("shipfeed")
T = TypeVar("T")

#: What the simulator is recorded as: its URL changes with every start (a free port),
#: and no merchant is behind it.
SIMULATOR_ENDPOINT = "built-in simulator"
SIMULATED_MERCHANT = "simulated"


@dataclass(frozen=True, slots=True)
class AmazonIdentity:
    """The Amazon one seller's lines are confirmed with."""

    seller: str
    simulated: bool
    region: str | None  # None for the simulator
    endpoint: str
    merchant_id: str
    recorded_at: datetime | None = None  # None until recorded

    @property
    def amazon(self) -> str:
        """Which Amazon, in words an operator recognises."""
        if self.simulated:
            return "the built-in simulator (SIMULATED, nothing reaches Amazon)"
        return f"real Amazon, SP-API region {self.region} at {self.endpoint}"


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """What a start found: the rows that now hold (recorded before or just now)."""

    identities: list[AmazonIdentity]
    newly_recorded: list[str]  # sellers recorded by this start
    adopted_history: bool  # a ledger with lines from before identities were recorded


# -- what the settings say (pure) -----------------------------------------------------------


def normalise_endpoint(url: str) -> str:
    """``HTTPS://Sellingpartnerapi-NA.amazon.com/`` and its plain spelling are one endpoint."""
    return url.strip().rstrip("/").lower()


def from_settings(settings: Settings, *, simulated: bool) -> list[AmazonIdentity]:
    """The Amazon a start with these settings would talk to, per configured seller."""
    if simulated:
        return [
            AmazonIdentity(s.name, True, None, SIMULATOR_ENDPOINT, SIMULATED_MERCHANT)
            for s in settings.sellers
        ]
    out = []
    for s in settings.sellers:
        region = settings.region_of(s)
        endpoint = normalise_endpoint(settings.endpoint_for(region) or REGION_ENDPOINTS[region])
        out.append(AmazonIdentity(s.name, False, region, endpoint, s.merchant_id))
    return out


# -- comparing (pure) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way the settings disagree with the record, naming both sides."""

    kind: str  # "mode", "endpoint" or "merchant"
    recorded: str
    settings: str


def mismatches(
    recorded: Sequence[AmazonIdentity], expected: Sequence[AmazonIdentity]
) -> list[Mismatch]:
    """Every disagreement between the record and the settings, most serious first.

    The mode holds for the whole ledger (any recorded row counts, also one of a seller
    this worker does not serve); region, endpoint and merchant only for the same seller.
    A seller without a row is no disagreement: it has no history to confuse.
    """
    if not recorded or not expected:
        return []
    found: list[Mismatch] = []
    want = expected[0]
    other_mode = [r for r in recorded if r.simulated != want.simulated]
    if other_mode:
        found.append(Mismatch("mode", _when(other_mode[0]), want.amazon))
        return found  # region and merchants of the simulator mean nothing
    by_seller = {r.seller: r for r in recorded}
    if not want.simulated:
        moved = [
            (had, e)
            for e in expected
            if (had := by_seller.get(e.seller)) is not None
            and (had.region, had.endpoint) != (e.region, e.endpoint)
        ]
        for had, e in _unique(moved, lambda p: (p[0].region, p[0].endpoint, p[1].amazon)):
            found.append(Mismatch("endpoint", _when(had), e.amazon))
    for e in expected:
        had = by_seller.get(e.seller)
        if had is not None and had.merchant_id != e.merchant_id:
            found.append(
                Mismatch(
                    "merchant",
                    f"seller {had.seller} as merchant {had.merchant_id} {_at(had)}",
                    f"seller {e.seller} as merchant {e.merchant_id}",
                )
            )
    return found


def _when(r: AmazonIdentity) -> str:
    return f"{r.amazon} {_at(r)}"


def _at(r: AmazonIdentity) -> str:
    return f"on {r.recorded_at:%Y-%m-%d %H:%M} UTC" if r.recorded_at else "earlier"


def _unique(rows: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    seen: set[Hashable] = set()
    out: list[T] = []
    for r in rows:
        if key(r) not in seen:
            seen.add(key(r))
            out.append(r)
    return out


_FRESH = "another --data-dir (or SHIPFEED_DATA_DIR), or another ledger_url"


def refusal_hint(found: Sequence[Mismatch], *, settings_simulated: bool) -> str:
    """How to go on: put the settings back, or start a fresh ledger for the other Amazon."""
    kind = found[0].kind
    if kind == "mode" and settings_simulated:
        return (
            "this ledger confirms with real Amazon: set the SP-API credentials again "
            "(SHIPFEED_LWA_CLIENT_ID, SHIPFEED_LWA_CLIENT_SECRET, SHIPFEED_LWA_REFRESH_TOKEN "
            "or SHIPFEED_SECRETS_FILE) with simulator.enabled auto; to try the simulator "
            f"use {_FRESH}"
        )
    if kind == "mode":
        return (
            "lines the simulator 'confirmed' never reached Amazon, and this ledger would take "
            "the same orders for duplicates and never send them. For real Amazon start a "
            f"fresh ledger: {_FRESH}; keep this one to look back at the simulated run"
        )
    if kind == "endpoint":
        return (
            "set the seller's region (its own, or [spapi] region and endpoint) back to what the "
            "ledger recorded; a seller of another region or endpoint needs its own seller "
            f"name, or a fresh ledger: {_FRESH}"
        )
    return (
        "set the seller's merchant_id back to what the ledger recorded; another selling "
        f"partner needs its own seller name, or a fresh ledger: {_FRESH}"
    )


def refusal(ledger_name: str, found: Sequence[Mismatch]) -> str:
    """The message of AmazonIdentityMismatch: what the ledger recorded, what the settings say."""
    parts = [f"the ledger recorded {m.recorded}, but the settings say {m.settings}" for m in found]
    return f"ledger {ledger_name} talks to another Amazon: " + "; ".join(parts)


# -- the ledger side ------------------------------------------------------------------------


def _rows(conn: Connection) -> list[AmazonIdentity]:
    q = select(amazon_identity).order_by(amazon_identity.c.seller)
    return [
        AmazonIdentity(
            r.seller, bool(r.simulated), r.region, r.endpoint, r.merchant_id, r.recorded_at
        )
        for r in conn.execute(q)
    ]


def recorded(ledger: Ledger) -> list[AmazonIdentity]:
    """Every seller's recorded Amazon, by seller name; empty before the first start."""
    with ledger.reading() as conn:
        return _rows(conn)


def ledger_simulated(ledger: Ledger) -> bool | None:
    """Whether this ledger's lines were confirmed by the simulator; None if not recorded.

    Operator commands and reports read this, not the settings they were started with:
    a ``status`` run without credentials must not call a real ledger SIMULATED.
    """
    rows = recorded(ledger)
    return any(r.simulated for r in rows) if rows else None


def refuse_before_opening(url: str, expected: Sequence[AmazonIdentity]) -> None:
    """Refuse a start with other settings before Ledger.open migrates anything.

    A refused start must leave the ledger exactly as it was, schema included, so the
    record is read without the store. No table yet means nothing recorded, so nothing to
    disagree with; a database that cannot be opened is left for Ledger.open to report.
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and not (u.database and Path(u.database).exists()):
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(amazon_identity.name):
                return
            rows = _rows(conn)
    except OperationalError:
        return
    finally:
        engine.dispose()
    _refuse_if_other(url, rows, expected)


def _refuse_if_other(
    url: str, rows: Sequence[AmazonIdentity], expected: Sequence[AmazonIdentity]
) -> None:
    found = mismatches(rows, expected)
    if found:
        simulated = bool(expected and expected[0].simulated)
        raise AmazonIdentityMismatch(
            refusal(make_url(url).render_as_string(hide_password=True), found),
            hint=refusal_hint(found, settings_simulated=simulated),
        )


def describe(rows: Sequence[AmazonIdentity]) -> str:
    """One line for ``status``: which Amazon the ledger recorded, and each seller's merchant."""
    if not rows:
        return "not recorded yet (no service has started on this ledger)"
    if rows[0].simulated:
        return rows[0].amazon
    regions = {(r.region, r.endpoint) for r in rows}
    if len(regions) == 1:
        merchants = ", ".join(f"{r.seller}={r.merchant_id}" for r in rows)
        return f"{rows[0].amazon}; merchants {merchants}"
    each = ", ".join(f"{r.seller}={r.merchant_id} ({r.region} at {r.endpoint})" for r in rows)
    return f"real Amazon; merchants {each}"


def record_or_refuse(ledger: Ledger, expected: Sequence[AmazonIdentity]) -> IdentityCheck:
    """Record the sellers not yet recorded, or refuse if the settings disagree.

    Called on the opened ledger after refuse_before_opening, so a refusal here is rare:
    another worker recorded other settings in between. One write transaction (SQLite:
    BEGIN IMMEDIATE; PostgreSQL: the table locked against other writers) so that two
    workers starting together cannot record two Amazons; a refusal writes nothing.
    """
    now = datetime.now(UTC)
    conn = ledger.engine.connect().execution_options(**{IMMEDIATE: True})
    with conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE amazon_identity IN SHARE ROW EXCLUSIVE MODE"))
        rows = _rows(conn)
        _refuse_if_other(ledger.engine.url.render_as_string(hide_password=False), rows, expected)
        known = {r.seller for r in rows}
        new = [replace(e, recorded_at=now) for e in expected if e.seller not in known]
        adopted = not rows and bool(new) and _has_history(conn)
        if new:
            conn.execute(
                insert(amazon_identity),
                [
                    {
                        "seller": e.seller,
                        "simulated": e.simulated,
                        "region": e.region,
                        "endpoint": e.endpoint,
                        "merchant_id": e.merchant_id,
                        "recorded_at": now,
                    }
                    for e in new
                ],
            )
    if adopted:
        log.warning(
            "this ledger holds lines from before it recorded which Amazon it talks to; "
            "recorded %s now, earlier lines cannot be told apart",
            new[0].amazon,
        )
    return IdentityCheck([*rows, *new], [e.seller for e in new], adopted)


def _has_history(conn: Connection) -> bool:
    return conn.execute(select(files.c.id).limit(1)).first() is not None
