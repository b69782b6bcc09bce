"""Alerts to people: a digest per destination per interval, each alert sent once.

A failure nobody sees is a lost sale (Amazon cancels unconfirmed orders after a few days),
so operators, and sellers who opt in, are told when a line needs attention or conflicts,
a file is rejected, a feed ends FATAL or is stuck, Amazon refuses the login, or an inbox
or outbox stays unreachable. What is wrong is read from the ledger on every pass
(alertsources.py), what was sent is recorded there (ledger/alertlog.py): any worker can
send, a restart repeats nothing, and a destination that was down gets its digest later.

Delivery goes through apprise, so one URL in the secrets file picks email, Slack, a
webhook...; a URL is never logged (it holds tokens): a destination is named by its
audience and position, and recorded by a hash.

Delivery is at least once: a crash between a destination accepting the digest and the
ledger recording it sends that digest again on the next pass.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import apprise

from config.settings import AlertSecrets, AlertSettings
from processors.alertsources import Alert, AlertKind, AlertWindow, current_alerts
from processors.ledger import alertlog
from processors.ledger.store import Ledger

log = logging.getLogger(__name__)

TITLES = {
    AlertKind.LOGIN_REFUSED: "Amazon refuses the login",
    AlertKind.FEED_FATAL: "Feeds Amazon ended FATAL",
    AlertKind.FEED_STUCK: "Feeds stuck with Amazon",
    AlertKind.INBOX_UNREACHABLE: "Inboxes unreachable",
    AlertKind.OUTBOX_UNREACHABLE: "Outboxes unreachable",
    AlertKind.FILE_REJECTED: "Files rejected",
    AlertKind.NEEDS_ATTENTION: "Lines that need attention",
    AlertKind.CONFLICT: "Lines in conflict with a confirmed shipment",
    AlertKind.ORDER_DUE: "Orders Amazon is waiting for, in no file",
}

Notify = Callable[[str, str, str], bool]


@dataclass(frozen=True, slots=True)
class Destination:
    """One apprise URL: every alert (seller None) or one seller's."""

    url: str = field(repr=False)
    seller: str | None
    label: str  # for logs: "operators #1", "seller acme #1"

    @property
    def id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:32]

    def wants(self, alert: Alert) -> bool:
        return self.seller is None or alert.seller == self.seller


def destinations(secrets: AlertSecrets) -> list[Destination]:
    out = [
        Destination(u.get_secret_value(), None, f"operators #{i}")
        for i, u in enumerate(secrets.operators, 1)
    ]
    for seller, urls in sorted(secrets.sellers.items()):
        out += [
            Destination(u.get_secret_value(), seller, f"seller {seller} #{i}")
            for i, u in enumerate(urls, 1)
        ]
    return out


def digest(alerts: Sequence[Alert], max_listed: int) -> tuple[str, str]:
    """The title and body of one digest: alerts grouped by kind, worst first."""
    by_kind: dict[AlertKind, list[Alert]] = {}
    for a in alerts:
        by_kind.setdefault(a.kind, []).append(a)
    kinds = [k for k in TITLES if k in by_kind]
    title = "shipfeed: " + ", ".join(f"{len(by_kind[k])} {k.value}" for k in kinds)
    body: list[str] = []
    for k in kinds:
        group = by_kind[k]
        body.append(f"{TITLES[k]} ({len(group)}):")
        for a in group[:max_listed]:
            body.append(
                f"- {a.seller + ': ' if a.seller and k != AlertKind.FILE_REJECTED else ''}{a.text}"
            )
        if len(group) > max_listed:
            body.append(f"- and {len(group) - max_listed} more")
        body.append("")
    return title, "\n".join(body).rstrip() + "\n"


def apprise_notify(url: str, title: str, body: str) -> bool:
    """Send through apprise; False when the URL is not one apprise knows or sending failed."""
    sender = apprise.Apprise()
    if not sender.add(url):
        return False
    return bool(sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))


@dataclass
class AlertPass:
    """What one pass did: alerts sent per destination label, and destinations that failed."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # inside their digest interval


def send_alerts(
    ledger: Ledger,
    settings: AlertSettings,
    targets: Sequence[Destination],
    now: datetime,
    notify: Notify = apprise_notify,
) -> AlertPass:
    """Send each destination one digest of its alerts not sent to it before, unless its
    last digest is younger than the interval."""
    done = AlertPass()
    if not targets:
        return done
    with alertlog.sender_turn(ledger) as mine:
        if not mine:  # another worker is sending the same alerts now
            return done
        window = AlertWindow(
            now=now,
            lookback=timedelta(days=settings.lookback_days),
            unreachable_after=timedelta(seconds=settings.unreachable_after_seconds),
        )
        alerts = current_alerts(ledger, window)
        for d in targets:
            _send_one(ledger, settings, d, alerts, now, notify, done)
    return done


def _send_one(
    ledger: Ledger,
    settings: AlertSettings,
    d: Destination,
    alerts: list[Alert],
    now: datetime,
    notify: Notify,
    done: AlertPass,
) -> None:
    mine = [a for a in alerts if d.wants(a)]
    if not mine:
        return
    sent = alertlog.already_sent(ledger, d.id, (a.key for a in mine))
    new = [a for a in mine if a.key not in sent]
    if not new:
        return
    last = alertlog.last_sent_at(ledger, d.id)
    if last is not None and now - last < timedelta(seconds=settings.digest_seconds):
        done.waiting.append(d.label)
        return
    title, body = digest(new, settings.max_listed)
    try:
        ok = notify(d.url, title, body)
    except Exception as exc:  # a plugin's own failure: this destination only
        log.warning("alerts to %s failed: %s", d.label, type(exc).__name__)
        ok = False
    if not ok:
        log.warning(
            "alerts to %s not delivered; %d alerts wait for the next pass", d.label, len(new)
        )
        done.failed.append(d.label)
        return
    alertlog.record_sent(ledger, d.id, [(a.key, a.kind.value, a.seller) for a in new], now)
    done.sent[d.label] = len(new)
    log.info("alerts to %s: %d sent in one digest", d.label, len(new))
