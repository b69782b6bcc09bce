"""The batcher: queued lines → Order Fulfillment feeds on Amazon (or confirmShipment).

Called every ``service.batch_interval_seconds``: it sends whatever is queued then, in as
few feeds as the limits allow (Amazon advises against many tiny feeds, and createFeed is
allowed about once every two minutes).

Order of work, each step recorded in the ledger BEFORE the side effect that follows it:

1. resume unfinished feeds (a crash or a failed call left them prepared or uploaded):
   prepared → new document, upload the STORED bytes, createFeed; uploaded → first ask
   Amazon for a feed created since the upload that the ledger does not know (the answer
   to createFeed may have been lost), and only if there is none, createFeed again. So one
   batch never becomes two feeds.
   Then corrections an operator asked for (processors.corrections): confirmShipment
   again under the confirmed package's reference; they never go in a feed.
2. check the queued orders against the order mirror (processors.orderchecks).
3. claim queued lines, at most ``feed.max_messages`` per feed, group them into packages,
   write the feed (split further by ``feed.max_bytes``), ``prepare_feed`` per part; then,
   outside the claim's transaction, createFeedDocument → upload → createFeed.
4. the direct path: with at most ``service.direct_threshold`` orders waiting, each
   package with a tracking number is confirmed with confirmShipment instead (its
   packageReferenceId is the smallest ledger line id in it, so a resend edits the same
   package on Amazon instead of adding one).

Several workers (PostgreSQL): each feed is claimed for the whole of its send step
(processors.ledger.feedclaims), a new one before its lines' claim commits; a feed another
worker holds is skipped. A ledger step that is refused anyway (FeedStateError...) stops
the batch with the lines where they are: it is never taken for Amazon's answer.

One feed lock per selling-partner account (processors.ledger.accountlock): createFeed,
the ledger's record of its answer (feed_created) and the lookup of a lost answer (right
after it, and when an ``uploaded`` feed is resumed) all run with it held. The lookup
takes "the feed of this type created since just before the call that the ledger does not
know", and getFeeds lists every feed of the account, whoever created it: without the
lock, a feed another worker had created and not yet recorded was taken for the lost one
(two ledger feeds on one Amazon feed; one feed's lines confirmed, never sent). With it,
every feed a live worker of this ledger created on the account is recorded by the time
the lookup runs. A worker waits for the lock at most ACCOUNT_WAIT_SECONDS, and a stop
ends the wait at once; either way its feed stays uploaded for a later batch.
A worker killed between createFeed and its record leaves a feed on Amazon that the
ledger does not know. So the call time is recorded before each createFeed
(create_feed_calling) and cleared by its record, and while one feed of an account has a
call without a recorded answer, no other createFeed goes out on that account: that feed
is looked up first, when it is resumed. There is then at most one unknown feed of ours
on the account, and the lookup cannot take another feed for it. An uploaded feed whose
createFeed was never called is created without a lookup. Still outside what the ledger
can see: feeds another system creates on the same account; Amazon's feed does not name
its document, so nothing tells them from a lost one.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from config.settings import SellerSettings
from feeds.errors import AmazonRejected, TransientError
from feeds.model import Package
from feeds.packages import PackageGrouper
from feeds.spapi.errors import AmazonErrorInfo, FeedSubmissionUnknown
from feeds.spapi.feeds import ORDER_FULFILLMENT_FEED, XML_CONTENT_TYPE
from feeds.spapi.orders import CannotConfirmDirectly
from feeds.xmlfeed import FeedWriter
from processors.context import Context
from processors.corrections import send_corrections
from processors.ledger.accountlock import AccountHold, hold_account
from processors.ledger.feedclaims import (
    FeedClaim,
    claim_new,
    claimed_for_resume,
    release_all,
    resumable_feed_ids,
)
from processors.ledger.records import FeedRow, LineRow
from processors.ledger.statuses import FeedState
from processors.ledger.store import Claim
from processors.orderchecks import CheckResult, check_orders
from processors.supersede import one_message_per_item

log = logging.getLogger(__name__)

#: Clock skew allowed between us and Amazon when looking for a feed we may have created.
CREATED_MARGIN = timedelta(minutes=10)
#: How long a worker waits for the account's feed lock before it ends its batch (the feed
#: stays uploaded for the next one). The holder may sit in createFeed's own rate-limit wait
#: (about two minutes) and a few retries; longer than this it is stuck, and waiting on
#: would hold up this worker's tracking and intake too. A stop ends the wait at once.
ACCOUNT_WAIT_SECONDS = 300.0


@dataclass
class BatchResult:
    feeds_created: list[int] = field(default_factory=list)  # ledger feed ids
    lines_submitted: int = 0
    direct_confirmed: int = 0  # lines confirmed with confirmShipment
    cancelled: int = 0  # lines cancelled on Amazon (order lookup)
    confirmed_elsewhere: int = 0  # lines Amazon already shows shipped (order lookup)
    not_found: int = 0  # lines of orders Amazon does not know: error, not sent (order lookup)
    confirmed_lines: list[int] = field(default_factory=list)  # direct: for buyer notices
    corrected: int = 0  # correction lines Amazon took (processors.corrections)
    stopped: str | None = None  # why the batch stopped early (Amazon unavailable...)


@dataclass
class _Part:
    content: bytes
    message_map: dict[int, list[int]]


class _Stop(Exception):
    """Amazon is failing for now: leave the rest for the next batch."""


def run_batch(ctx: Context, seller: SellerSettings) -> BatchResult:
    """One batch for one seller; see the module docstring.

    A passing failure (TransientError) ends the batch early and says so in ``stopped``.
    Anything else (a refused login, a missing role, a refused ledger step, a bug)
    propagates to the service loop, with every line where it was and no resend counted.
    """
    result = BatchResult()
    try:
        _resume(ctx, seller, result)
        sent = send_corrections(ctx, seller.name, seller.marketplace_id)
        result.corrected += len(sent.corrected)
        _send_queue(ctx, seller, result)
    except _Stop as stop:
        result.stopped = str(stop)
        log.warning("%s: batch stopped early: %s", seller.name, stop)
    return result


# -- resuming ----------------------------------------------------------------------------


def _resume(ctx: Context, seller: SellerSettings, result: BatchResult) -> None:
    """Each unfinished feed is claimed first (processors.ledger.feedclaims): one another
    worker is still sending is skipped, never sent a second time beside it."""
    for feed_id in resumable_feed_ids(ctx.ledger, seller.name):
        if ctx.stop.is_set():  # stopping: resumed at the next start
            raise _Stop("stopping before resuming the next feed")
        held = claimed_for_resume(ctx.ledger, feed_id)
        if held is None:
            log.debug("%s: feed %d is being sent by another worker", seller.name, feed_id)
            continue
        claim, feed = held
        with claim:
            _resume_one(ctx, seller, feed, result)


def _resume_one(ctx: Context, seller: SellerSettings, feed: FeedRow, result: BatchResult) -> None:
    log.info("%s: resuming feed %d (%s)", seller.name, feed.id, feed.state)
    if feed.state == FeedState.PREPARED:
        assert feed.content is not None
        _send(ctx, seller, feed.id, feed.content, result)
        return
    assert feed.feed_document_id is not None
    with _account_held(ctx, feed.id):
        if feed.create_called_at is not None:  # it may exist on Amazon: look first
            wall = datetime.now(UTC)
            found = _find(ctx, seller, min(feed.create_called_at, wall) - CREATED_MARGIN, feed.id)
            if found is not None:
                _created(ctx, feed.id, found, result)
                return
        _create_held(ctx, seller, feed, feed.feed_document_id, result)


def _account_held(ctx: Context, feed_id: int) -> AccountHold:
    """Wait for the account's feed lock (see the module docstring); a stop or a lock held
    too long by another worker ends the batch with the feed left uploaded."""
    account = str(ctx.account_key)  # the seller's account: the service's for_seller
    try:
        return hold_account(ctx.ledger, account, stop=ctx.stop, wait_seconds=ACCOUNT_WAIT_SECONDS)
    except TransientError as exc:
        raise _Stop(f"feed {feed_id} left uploaded: {exc}") from exc


def _find(ctx: Context, seller: SellerSettings, since: datetime, feed_id: int) -> str | None:
    """Only with the account's feed lock held, for the account's one unresolved createFeed
    (``feed_id``'s): then every other feed this ledger's workers created on the account is
    recorded, and the unknown one is this feed's."""
    others = [i for i in ctx.ledger.unresolved_creates(ctx.account_sellers()) if i != feed_id]
    if others:  # only a ledger from before create_called_at (migration 0014) has several
        log.warning(
            "feed %d: createFeed answers of feeds %s are unknown too; the earliest unknown "
            "feed on Amazon is taken for the earliest call",
            feed_id,
            others,
        )
    known = ctx.ledger.amazon_feed_ids()
    try:
        feed = ctx.client.feeds.find_created_feed(
            feed_type=ORDER_FULFILLMENT_FEED, created_since=since, exclude=known
        )
    except TransientError as exc:
        raise _Stop(f"cannot ask Amazon for recent feeds: {exc}") from exc
    return None if feed is None else feed.feed_id


# -- sending -----------------------------------------------------------------------------


def _send(
    ctx: Context, seller: SellerSettings, feed_id: int, content: bytes, result: BatchResult
) -> None:
    """createFeedDocument → upload → createFeed for a prepared feed."""
    if ctx.stop.is_set():  # stopping: the feed stays prepared, the next start sends it
        raise _Stop(f"stopping before feed {feed_id} was sent")
    feeds, ledger = ctx.client.feeds, ctx.ledger
    try:
        doc_id, url = feeds.create_feed_document(XML_CONTENT_TYPE)
        ledger.feed_document_created(feed_id, doc_id, url)
        feeds.upload_document(url, content, XML_CONTENT_TYPE)
    except TransientError as exc:
        raise _Stop(f"feed {feed_id} not uploaded yet: {exc}") from exc
    except AmazonRejected as exc:
        _abandon(ctx, feed_id, exc)
        return
    ledger.feed_uploaded(feed_id, doc_id, url)
    _create(ctx, seller, ledger.feed(feed_id), doc_id, result)


def _create(
    ctx: Context, seller: SellerSettings, feed: FeedRow, doc_id: str, result: BatchResult
) -> None:
    with _account_held(ctx, feed.id):
        _create_held(ctx, seller, feed, doc_id, result)


def _create_held(
    ctx: Context, seller: SellerSettings, feed: FeedRow, doc_id: str, result: BatchResult
) -> None:
    """createFeed; on a lost answer look for the feed, then retry once at most. Called with
    the account's feed lock held, which the record of the answer needs too."""
    for attempt in (1, 2):
        if ctx.stop.is_set():  # stopping: left uploaded, the next start creates it
            raise _Stop(f"stopping before feed {feed.id} was created on Amazon")
        _first_resolve_others(ctx, feed.id)
        before = datetime.now(UTC)  # Amazon's clock, not the injected one
        ctx.ledger.create_feed_calling(feed.id, before)
        try:
            amazon_id = ctx.client.feeds.create_feed(
                ORDER_FULFILLMENT_FEED, seller.marketplaces, doc_id
            )
        except FeedSubmissionUnknown as exc:
            log.warning("feed %d: createFeed answer lost (%s); looking it up", feed.id, exc)
            found = _find(ctx, seller, before - CREATED_MARGIN, feed.id)
            if found is not None:
                _created(ctx, feed.id, found, result)
                return
            if attempt == 2:
                raise _Stop(f"feed {feed.id}: createFeed unanswered twice; left uploaded") from exc
            continue
        except TransientError as exc:
            raise _Stop(f"feed {feed.id}: createFeed failed for now: {exc}") from exc
        except AmazonRejected as exc:
            _abandon(ctx, feed.id, exc)
            return
        _created(ctx, feed.id, amazon_id, result)
        return


def _first_resolve_others(ctx: Context, feed_id: int) -> None:
    """One unresolved createFeed per account: while another feed of the account may exist
    on Amazon unrecorded (its worker died after calling createFeed, or its answer was
    lost and not found yet), no new createFeed goes out. Otherwise a lost answer's lookup
    would find two unknown feeds and could take the other's (two ledger feeds on one
    Amazon feed: one's lines confirmed by the other's report, never sent). The other feed
    is looked up first, by whichever worker resumes it; this one waits, uploaded."""
    others = [i for i in ctx.ledger.unresolved_creates(ctx.account_sellers()) if i != feed_id]
    if others:
        raise _Stop(
            f"feed {feed_id} left uploaded: the createFeed answer of feed "
            f"{', '.join(map(str, others))} on this account is not known yet, and is looked "
            "up first"
        )


def _created(ctx: Context, feed_id: int, amazon_id: str, result: BatchResult) -> None:
    submitted = ctx.ledger.feed_created(feed_id, amazon_id)
    result.feeds_created.append(feed_id)
    result.lines_submitted += len(submitted)
    log.info("feed %d created on Amazon as %s: %d lines", feed_id, amazon_id, len(submitted))


def _abandon(ctx: Context, feed_id: int, exc: AmazonRejected) -> None:
    """Amazon judged the feed's content and refused it: its lines → error (never silently
    requeued forever), resendable by an operator once the cause is fixed.

    Only AmazonRejected comes here. A refused login (LwaCredentialsError), a missing role
    (AccessDenied), our own malformed request (a 400 on createFeedDocument or createFeed),
    a ledger refusal or a bug propagate instead: the feed stays prepared or uploaded, to
    be resumed once the cause is fixed, and no line uses up a resend.
    """
    ids = [ln.id for ln in ctx.ledger.feed_lines(feed_id)]
    reason = f"Amazon refused the feed: {exc}"
    ctx.ledger.fail_feed(feed_id, reason, state=FeedState.CANCELLED)
    code = exc.code if isinstance(exc, AmazonErrorInfo) else None
    ctx.ledger.mark_error(ids, code, reason)
    log.error("feed %d abandoned: %s", feed_id, reason)


# -- the queue ---------------------------------------------------------------------------


def _send_queue(ctx: Context, seller: SellerSettings, result: BatchResult) -> None:
    ledger, settings = ctx.ledger, ctx.settings
    per_feed = settings.feed.max_messages
    peek_limit = max(per_feed, settings.spapi.order_lookups_per_batch * 50)
    # The peeks read up to a feed's worth of whole lines: only when something uses them.
    checks = CheckResult()
    if settings.spapi.use_orders_api:
        checks = check_orders(ctx, seller, ledger.queued_lines(seller.name, peek_limit))
    result.cancelled += checks.cancelled
    result.confirmed_elsewhere += checks.confirmed_elsewhere
    result.not_found += checks.not_found
    deferred = checks.deferred
    waiting: list[LineRow] = []
    if deferred or settings.service.direct_threshold > 0:
        waiting = ledger.queued_lines(seller.name, peek_limit)
    orders = {r.order_id for r in waiting if r.order_id not in deferred}
    direct = 0 < len(orders) <= settings.service.direct_threshold
    skip = sum(1 for r in waiting if r.order_id in deferred)
    while not ctx.stop.is_set():  # stopping: no new feed
        prepared = _prepare_next(ctx, seller, per_feed, skip, deferred, direct, result)
        if prepared is None:
            return
        parts = len(prepared)
        try:
            while prepared:  # each part's bytes are let go once sent, before the next claim
                feed_claim, content = prepared.pop(0)
                with feed_claim:
                    _send(ctx, seller, feed_claim.feed_id, content, result)
                del content
        finally:
            release_all(c for c, _ in prepared)  # parts left unsent by a stopped step
        if direct or not parts:
            # The direct path is for a handful of orders: one pass; what failed for now
            # stays queued for the next batch instead of being retried in a loop here.
            return


def _prepare_next(
    ctx: Context,
    seller: SellerSettings,
    per_feed: int,
    skip: int,
    deferred: set[str],
    direct: bool,
    result: BatchResult,
) -> list[tuple[FeedClaim, bytes]] | None:
    """Claim the next feed's worth of lines and store its feed parts; None: queue empty.

    Each part comes back claimed for this worker (taken before the parts are committed,
    so no other worker can resume them while this one sends them).

    A function of its own so that the claimed rows, shipments and packages (a feed's worth
    of Python objects) are freed when it returns, not held through the uploads and the
    next claim: that halves the batcher's peak memory.
    """
    prepared: list[tuple[FeedClaim, bytes]] = []
    stopped: Exception | None = None
    try:
        with ctx.ledger.claim_queued(seller.name, per_feed + skip) as claim:
            rows = [r for r in claim.lines if r.order_id not in deferred][:per_feed]
            if not rows:
                return None
            per_item = one_message_per_item(rows)  # never two messages for one order item
            claim.supersede(per_item.superseded)
            rows = per_item.send
            del per_item
            packages, dups = _packages(rows)
            del rows
            claim.lines = []
            if direct:
                packages, stopped = _confirm_directly(ctx, seller, claim, packages, dups, result)
            if stopped is None:
                for part in _write(ctx, seller, packages, dups):
                    feed_id = claim.prepare_feed(part.content, part.message_map)
                    prepared.append((claim_new(ctx.ledger, feed_id), part.content))
    except BaseException:
        release_all(c for c, _ in prepared)
        raise
    if stopped is not None:
        # Raised only now, so that the confirmations Amazon already took are committed.
        raise stopped
    return prepared


def _packages(rows: Sequence[LineRow]) -> tuple[list[Package], dict[int, list[int]]]:
    """Packages whose ``lines`` are ledger line ids; identical lines ride with the first.

    The ledger already refuses repeats at intake, but an operator's resend of an equal
    line could still meet its twin here; it goes in the same message, not a second one.
    """
    grouper = PackageGrouper()
    packages = grouper.add([r.to_shipment(line=r.id) for r in rows])
    dups: dict[int, list[int]] = {}
    for line, first in grouper.duplicate_lines:
        dups.setdefault(first, []).append(line)
    return packages, dups


def _ids(package: Package, dups: dict[int, list[int]]) -> list[int]:
    return [i for first in package.lines for i in (first, *dups.get(first, ()))]


def _write(
    ctx: Context, seller: SellerSettings, packages: list[Package], dups: dict[int, list[int]]
) -> list[_Part]:
    if not packages:
        return []
    buffers: list[io.BytesIO] = []

    def open_part(_index: int) -> BinaryIO:
        buffers.append(io.BytesIO())
        return buffers[-1]

    feed = ctx.settings.feed
    maps: list[dict[int, list[int]]] = []
    with FeedWriter(
        open_part,
        merchant_id=seller.merchant_id,
        max_messages=feed.max_messages,
        max_bytes=feed.max_bytes,
        document_version=feed.document_version,
        close_parts=False,
    ) as writer:
        for p in packages:
            part, message_id = writer.add(p)
            while len(maps) <= part:
                maps.append({})
            maps[part][message_id] = _ids(p, dups)
    return [_Part(b.getvalue(), m) for b, m in zip(buffers, maps, strict=True)]


def package_reference_id(package: Package) -> str:
    """Stable across resends (the same lines make the same package): Amazon then edits
    the package it has instead of adding a second one."""
    return str(min(package.lines))


def _confirm_directly(
    ctx: Context,
    seller: SellerSettings,
    claim: Claim,
    packages: list[Package],
    dups: dict[int, list[int]],
    result: BatchResult,
) -> tuple[list[Package], Exception | None]:
    """confirmShipment per package with tracking; returns the packages left for a feed,
    and the error that stopped the step, if one did.

    Only Amazon's verdict on a shipment (AmazonRejected) or the local CannotConfirmDirectly
    puts its lines in ``error``. Any other error (a refused login, a missing role, a bug)
    says nothing about the shipment: the packages not yet confirmed stay queued, those
    Amazon took are recorded, and the error is handed back to be raised once the claim has
    committed them.
    """
    rest: list[Package] = []
    for p in packages:
        if not p.tracking_number:
            rest.append(p)
            continue
        ids = _ids(p, dups)
        ref = package_reference_id(p)
        try:
            ctx.client.orders.confirm_shipment(
                p.order_id,
                marketplace_id=seller.marketplace_id,
                package=p,
                package_reference_id=ref,
            )
        except CannotConfirmDirectly as exc:
            claim.direct_failed(ids, None, exc.message)
            continue
        except AmazonRejected as exc:
            info = exc if isinstance(exc, AmazonErrorInfo) else None
            what = (info.amazon_message if info else None) or exc.message
            code = info.code if info else None
            claim.direct_failed(ids, code, f"Amazon refused the confirmation: {what}")
            continue
        except TransientError as exc:
            log.warning("order %s: confirmShipment failed for now (%s)", p.order_id, exc)
            continue  # stays queued for the next batch
        except Exception as exc:  # not a verdict: stop the step (see the docstring)
            return [], exc
        claim.confirm_direct(ids, f"confirmed on Amazon directly (package {ref})")
        result.direct_confirmed += len(ids)
        result.confirmed_lines.extend(ids)
    return rest, None
