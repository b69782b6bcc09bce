"""Keeps this worker's inbox leases (processors/ledger/inboxleases.py) in a thread of its
own, renewing them every third of the lease while the steps work.

In a thread, not between steps: a step may run longer than a lease (a large file, a slow
SFTP server, a long createFeed wait), and a lease that lapsed while its worker was busy
would hand that seller to another worker for no reason.
"""

from __future__ import annotations

import logging
import threading

from processors import logs
from processors.ledger.inboxleases import InboxLeases

#: Rounds per lease: a lease survives two failed renewals in a row.
ROUNDS_PER_LEASE = 3


class LeaseKeeper:
    def __init__(self, leases: InboxLeases) -> None:
        self.leases = leases
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.every = max(0.5, leases.lease.total_seconds() / ROUNDS_PER_LEASE)

    def start(self) -> LeaseKeeper:
        """One round now, so the first steps know their sellers, then one per interval."""
        self._round()
        if not self.leases.single:
            self._thread = threading.Thread(target=self._run, name="inbox-leases", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._round()

    def _round(self) -> None:
        try:
            self.leases.keep()
        except Exception as exc:  # the ledger is away: held() empties once leases lapse
            logs.event("inbox_leases_not_kept", logging.WARNING, error=str(exc))

    def stop(self) -> None:
        """Stop renewing and hand every lease back, so other workers take over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.leases.hand_back_all()
        except Exception as exc:  # they expire on their own
            logs.event("inbox_leases_not_handed_back", logging.WARNING, error=str(exc))
