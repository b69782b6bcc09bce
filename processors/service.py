"""The service: intake, batcher and tracker together, on a schedule or once to the end.

One ``Service`` owns everything a run needs (the ledger and its instance lock, the
SP-API client, the built-in simulator when no credentials are set, each seller's inbox
and outbox) and closes all of it on the way out, whatever ends the run: a finished
``--once``, SIGTERM/SIGINT, or an error. The steps themselves live in intake.py,
batcher.py and tracker.py and read their work from the ledger, so the service adds no
state of its own: a killed service restarted carries on where the ledger says.
"""

from __future__ import annotations

import functools
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import schedule
from pydantic import SecretStr

from config.settings import (
    Secrets,
    SellerSettings,
    Settings,
    SettingsError,
    load_secrets,
    secrets_file_warning,
)
from feeds.errors import ConfigError, CredentialsError, ExitCode, Stopping
from feeds.simulator import Simulator, SimulatorConfig, start_simulator
from feeds.spapi.accounts import DEFAULT_ACCOUNT, AccountKey
from feeds.spapi.client import SpApiClient
from ingest.factory import (
    InboxOptions,
    SftpAuth,
    SftpLinks,
    is_sftp,
    open_inbox,
    open_outbox,
)
from ingest.inbox import Inbox, Outbox
from ingest.names import STALE_TEMP_SECONDS, NameFilter
from processors import logs
from processors.accounts import Account, AccountClients, plan_accounts
from processors.alerts import Destination, destinations, send_alerts
from processors.alertsources import INBOX_PREFIX
from processors.batcher import run_batch
from processors.boxhealth import RecordedOutbox
from processors.callcounter import CallCounter
from processors.context import Context
from processors.inboxpool import SellerPool
from processors.intake import IntakeResult, intake_ready
from processors.leasekeeper import LeaseKeeper
from processors.ledger import health
from processors.ledger.identity import from_settings, record_or_refuse, refuse_before_opening
from processors.ledger.inboxleases import InboxLeases
from processors.ledger.queries import status_counts
from processors.ledger.ratelimits import limiter_for
from processors.ledger.records import FeedRow
from processors.ledger.store import Ledger
from processors.mirror import run_mirror
from processors.notify import send_shipped_notices
from processors.reconcile import run_reconcile
from processors.results import ArchiveSource, ReportWriter
from processors.steps import FilesStuck, StepRunner
from processors.tracker import run_tracking

#: An inbox that keeps being polled fine is recorded so at most this often: a third of
#: the shortest window /readyz allows between polls (console/health.py).
INBOX_OK_REFRESH_SECONDS = 20.0

#: The exit codes of ``--once`` are the one table in feeds/errors.py.
RunExit = ExitCode


class EagerLedger(Ledger):
    """The ledger as ``--once`` sees it: every created feed is due for a poll at once.

    The service backs off between polls of a feed (30 s, 1 min, ... 15 min) to spare
    getFeed's quota; a one-off run that waits for the answer polls on every pass instead
    (the client's rate limiter still paces the calls).
    """

    def poll_submitted(self, seller: str | None = None, *, due_only: bool = False) -> list[FeedRow]:
        return super().poll_submitted(seller, due_only=False)


def secret_values(secrets: Secrets) -> list[str]:
    """Every secret string, for the log filter that masks them."""
    found = [
        s.get_secret_value()
        for s in (secrets.lwa_client_id, secrets.lwa_client_secret, secrets.lwa_refresh_token)
        if s is not None
    ]
    found += [a.refresh_token.get_secret_value() for a in secrets.lwa.values()]
    for sftp in secrets.sftp.values():
        for s in (sftp.password, sftp.private_key_passphrase):
            if s is not None:
                found.append(s.get_secret_value())
    found += [d.url for d in destinations(secrets.alerts)]  # apprise URLs hold tokens
    return found


def wants_simulator(settings: Settings, secrets: Secrets) -> bool:
    mode = settings.simulator.enabled
    return mode == "always" or (mode == "auto" and not secrets.has_spapi)


@dataclass
class SellerIO:
    seller: SellerSettings
    inbox: Inbox
    outbox: Outbox


@dataclass
class OnceOutcome:
    exit: ExitCode
    files: list[IntakeResult] = field(default_factory=list)
    open_lines: int = 0
    reports: list[str] = field(default_factory=list)


def _load_file_readers() -> None:
    """Import the file readers' engines before the first claim. The readers import them on
    first use (so that `validate` starts fast), which in the service is inside the first
    file's intake: a process stopped while importing them (a second or more on a busy
    machine) was counted against that file as a start that never finished, and three
    such restarts quarantined a good file (processors/intake.py, max_attempts)."""
    import numpy  # noqa: F401
    import pandas  # noqa: F401


class Service:
    """One running shipfeed: build with ``Service.start(settings)``, end with ``close()``."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        client: SpApiClient,
        simulator: Simulator | None,
        sellers: list[SellerIO],
        *,
        halt: threading.Event | None = None,
        redact: Callable[[str], str] = lambda text: text,
        alert_targets: Sequence[Destination] = (),
        accounts: AccountClients | None = None,
    ) -> None:
        for s in sellers:  # every report write says whether the outbox works (boxhealth.py)
            if not isinstance(s.outbox, RecordedOutbox):
                s.outbox = RecordedOutbox(s.outbox, ledger, s.seller.name)
        self.settings = settings
        self.ledger = ledger
        self.client = client
        self.simulator = simulator
        self.sellers = sellers
        # ``halt``: stop what is under way (SIGTERM, or --once's deadline); the client's
        # waits and the batcher check it. ``stop_event``: the run ends (signals only).
        self.halt = halt if halt is not None else threading.Event()
        self.stop_event = threading.Event()
        self.accounts = accounts
        self.ctx = Context(
            settings,
            ledger,
            client,
            simulated=simulator is not None,
            stop=self.halt,
            accounts=accounts,
        )
        self.steps = StepRunner(ledger, redact)
        svc = settings.service
        # Reports go to the outboxes side by side too: one dead server must not hold up
        # the other sellers' reports (processors/results.py).
        self.outbox_pool = SellerPool(svc.inbox_pool_size, name="outbox")
        self.reports = ReportWriter(
            ledger,
            {s.seller.name: s.outbox for s in sellers},
            simulated=simulator is not None,
            sources={s.seller.name: ArchiveSource(s.inbox, s.seller) for s in sellers},
            owns=lambda seller: seller in self.leases.leases.held(),
            pool=self.outbox_pool,
            timeout=svc.inbox_timeout_seconds,
            stop=self.halt,
        )
        self.intake_results: list[IntakeResult] = []
        # Which sellers this worker polls (all of them on SQLite; its share on PostgreSQL),
        # and the threads that poll them side by side.
        self.leases = LeaseKeeper(
            InboxLeases(ledger, [s.seller.name for s in sellers], svc.inbox_lease_seconds)
        ).start()
        self.pool = SellerPool(svc.inbox_pool_size)
        self._inbox_ok: dict[str, bool] = {}  # polled fine in the pass under way
        self._inbox_ok_at: dict[str, float] = {}  # when each was last recorded fine
        self.web: Any = None  # the console's server thread ([web] enabled), stopped on close
        self.calls: CallCounter | None = None  # SP-API call counts to the ledger
        self.alert_targets = list(alert_targets)

    @property
    def simulated(self) -> bool:
        return self.simulator is not None

    # -- start and stop ----------------------------------------------------------------

    @classmethod
    def start(
        cls,
        settings: Settings,
        secrets: Secrets | None = None,
        *,
        watch: bool = True,
        once: bool = False,
    ) -> Service:
        """Open everything, in an order that leaves nothing behind if a step fails."""
        if secrets is None:
            try:
                secrets = load_secrets()
            except SettingsError as exc:
                raise ConfigError(str(exc)) from None  # the cause may quote a secret
        simulated = wants_simulator(settings, secrets)
        logs.configure(
            level=settings.log_level, simulated=simulated, secrets=secret_values(secrets)
        )
        if warning := secrets_file_warning():
            logs.event("secrets_file_readable", logging.WARNING, warning=warning)
        amazon = from_settings(settings, simulated=simulated)
        refuse_before_opening(settings.resolved_ledger_url, amazon)  # before any migration
        _load_file_readers()
        halt = threading.Event()
        sleep = _sleep_unless(halt)
        with _closing_on_error() as undo:
            ledger = (EagerLedger if once else Ledger).open(
                settings.resolved_ledger_url, max_resends=settings.service.max_resends
            )
            undo.append(ledger.close)
            ledger.acquire_instance_lock()
            # Adds this process's SP-API calls to the ledger, so any /metrics sums them.
            calls = CallCounter(ledger).start()
            undo.append(calls.close)
            simulator: Simulator | None = None
            if simulated:
                simulator = start_simulator(
                    SimulatorConfig(
                        host=settings.simulator.host,
                        port=settings.simulator.port,
                        processing_delay=settings.simulator.processing_delay_seconds,
                        auto_create_orders=settings.simulator.auto_create_orders,
                    )
                )
                undo.append(simulator.stop)
                plan = simulated_accounts(settings, simulator)
                app_id, app_secret = simulator.config.client_id, simulator.config.client_secret
            else:
                if not secrets.has_spapi:
                    raise CredentialsError(
                        "the simulator is off but no SP-API credentials are set",
                        hint="set SHIPFEED_LWA_CLIENT_ID, SHIPFEED_LWA_CLIENT_SECRET and "
                        "SHIPFEED_LWA_REFRESH_TOKEN, or SHIPFEED_SECRETS_FILE",
                    )
                assert secrets.lwa_client_id and secrets.lwa_client_secret
                plan = plan_accounts(settings, secrets.refresh_token_for)
                app_id = secrets.lwa_client_id.get_secret_value()
                app_secret = secrets.lwa_client_secret.get_secret_value()

            def connect(account: Account) -> SpApiClient:
                return SpApiClient(
                    endpoint=account.endpoint,
                    token_url=account.token_url,
                    client_id=app_id,
                    client_secret=app_secret,
                    refresh_token=account.refresh_token,
                    timeout=settings.spapi.timeout_seconds,
                    max_retries=settings.spapi.max_retries,
                    sleep=sleep,
                    limiter=limiter_for(ledger.engine, str(account.key), sleep=sleep),
                )

            accounts = AccountClients(plan, connect)
            undo.append(accounts.close)
            client = accounts.client(accounts.key_of(settings.sellers[0].name))
            links = SftpLinks()  # one SSH connection per SFTP server and login
            sellers = [
                _open_seller(settings, secrets, s, watch=watch, links=links)
                for s in settings.sellers
            ]
            for s in sellers:
                undo.append(s.inbox.close)
                undo.append(s.outbox.close)
            # Recorded once the start cannot fail any more; from here ctx.simulated is
            # what the ledger recorded, since a start that disagrees is refused.
            record_or_refuse(ledger, amazon)
            web = _start_console(settings, secrets, ledger)
            if web is not None:
                undo.append(web.stop)
        logs.event(
            "service_started",
            simulated=simulated,
            endpoint=client.endpoint,
            accounts=",".join(str(k) for k, _ in accounts),
            ledger=ledger.engine.url.render_as_string(hide_password=True),
            sellers=",".join(s.name for s in settings.sellers),
        )
        redact = logs.RedactSecrets(secret_values(secrets)).redact
        service = cls(
            settings,
            ledger,
            client,
            simulator,
            sellers,
            halt=halt,
            redact=redact,
            alert_targets=destinations(secrets.alerts),
            accounts=accounts,
        )
        service.web = web
        service.calls = calls
        return service

    def close(self) -> None:
        """Close inboxes, the client, the simulator and the ledger (releasing its lock)."""
        if self.web is not None:
            _quietly(self.web.stop)
        _quietly(self.leases.stop)
        self.pool.close()
        self.outbox_pool.close()
        for s in self.sellers:
            for closer in (s.inbox.close, s.outbox.close):
                _quietly(closer)
        _quietly(self.client.close)
        if self.accounts is not None:
            _quietly(self.accounts.close)
        if self.simulator is not None:
            _quietly(self.simulator.stop)
        if self.calls is not None:  # the last counts, while the ledger is open
            _quietly(self.calls.close)
        _quietly(self.ledger.close)
        logs.event("service_stopped")

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the steps ---------------------------------------------------------------------

    def mine(self) -> list[SellerIO]:
        """The sellers whose inboxes this worker polls now (processors/leasekeeper.py)."""
        held = self.leases.leases.held()
        return [s for s in self.sellers if s.seller.name in held]

    def intake(self) -> list[IntakeResult]:
        """Take in what is ready in this worker's sellers' inboxes, side by side
        (processors/inboxpool.py); a seller whose poll outlasts ``inbox_timeout_seconds``
        is left running and shows in its inbox's health."""
        results: list[IntakeResult] = []
        if self.halt.is_set():
            return results
        calls = {
            s.seller.name: functools.partial(
                self.steps.run,
                "intake",
                functools.partial(self._intake_seller, s, results),
                scope=s.seller.name,  # a failing inbox backs off alone
            )
            for s in self.mine()
        }
        timeout = self.settings.service.inbox_timeout_seconds
        done = self.pool.run(calls, timeout, self.halt)
        self._inboxes_polled(done.finished)
        self.intake_results.extend(results)
        if self.halt.is_set():  # stopping: not late, only left behind
            return results
        for name in done.late:
            logs.event("inbox_poll_late", logging.WARNING, seller=name, seconds=timeout)
            self._inbox_ok_at.pop(name, None)  # its next good poll is recorded at once
            health.record(
                self.ledger,
                INBOX_PREFIX + name,
                health.FAILING,
                _utcnow(),
                f"no answer within {timeout:g} s; the poll goes on and is waited for again",
            )
        return results

    def _intake_seller(self, s: SellerIO, results: list[IntakeResult]) -> None:
        """Take in a seller's ready files; a file left in processing/ fails the step.

        intake_ready goes on with the other files when one fails unexpectedly and leaves it
        claimed for the next run. Until then the file is neither queued nor reported, so
        the step counts as failed: `status` shows it and --once does not end with 0.
        """
        stuck: list[str] = []
        inbox = INBOX_PREFIX + s.seller.name  # for alerts and /readyz: polled, and when
        try:
            got = intake_ready(self.ctx, s.seller, s.inbox, s.outbox, left_claimed=stuck)
        except Exception as exc:
            self._inbox_ok_at.pop(s.seller.name, None)
            health.record(self.ledger, inbox, health.FAILING, _utcnow(), str(exc))
            raise
        self._inbox_ok[s.seller.name] = True  # recorded for the whole pass at its end
        for r in got:
            logs.event(
                "file_taken",
                seller=s.seller.name,
                file=r.name,
                accepted=r.accepted,
                rejected=r.rejected,
                duplicates=r.duplicates,
                duplicate_file=r.duplicate_file or None,
                file_error=r.file_error,
            )
        results.extend(got)
        if stuck:
            raise FilesStuck(
                f"{s.seller.name}: {', '.join(stuck)} stayed in processing after intake",
                hint="the log says why; the next run tries again",
            )

    def _inboxes_polled(self, finished: list[str]) -> None:
        """Record the inboxes polled fine in this pass, in one transaction, each at most
        once per INBOX_OK_REFRESH_SECONDS while it stays fine: /readyz reads "last polled"
        from the record, a thousand commits per pass would be most of the pass's time."""
        now, clock = _utcnow(), time.monotonic()
        due = [
            name
            for name in finished
            if self._inbox_ok.pop(name, False)
            and clock - self._inbox_ok_at.get(name, -math.inf) >= INBOX_OK_REFRESH_SECONDS
        ]
        try:
            health.record_ok(self.ledger, [INBOX_PREFIX + name for name in due], now)
        except Exception as exc:  # the intake went through; its record can wait
            logs.event("health_not_recorded", logging.WARNING, error=str(exc))
            return
        self._inbox_ok_at.update(dict.fromkeys(due, clock))

    def mirror(self) -> None:
        """Bring the order mirror up to date (processors/mirror.py) before the batch reads
        it; spends only the getOrders calls the rate limit lets out at once."""
        for s in self.mine():
            if self.halt.is_set():
                break
            self._amazon_step("mirror", s.seller, functools.partial(run_mirror, seller=s.seller))

    def reconcile(self) -> None:
        """Rewrite each seller's due-orders files; flag confirmed lines Amazon still shows
        unshipped (processors/reconcile.py). Reads only the ledger's order mirror."""
        for s in self.mine():
            ctx = self.ctx.for_seller(s.seller.name)
            self._step("reconcile", functools.partial(run_reconcile, ctx, s.seller, s.outbox))

    def batch(self) -> None:
        for s in self.sellers:
            if self.halt.is_set():
                break
            ctx = self.ctx.for_seller(s.seller.name)
            batch = functools.partial(run_batch, seller=s.seller)
            result = self._amazon_step("batch", s.seller, batch)
            if result is not None:  # the direct path confirms lines within the batch
                self._notify(result.confirmed_lines, ctx)

    def _track_feeds(self) -> None:
        """Poll the feeds in flight: in one pass with one account; with several, per
        seller with its account's client, so a refused account leaves the others' feeds."""
        if not self._several_accounts:
            result = self._step("track", lambda: run_tracking(self.ctx))
            if result is not None:
                self._notify(result.confirmed_lines, self.ctx)
            return
        for s in self.sellers:
            if self.halt.is_set():
                break
            ctx = self.ctx.for_seller(s.seller.name)
            result = self._amazon_step(
                "track", s.seller, functools.partial(run_tracking, seller=s.seller)
            )
            if result is not None:
                self._notify(result.confirmed_lines, ctx)

    @property
    def _several_accounts(self) -> bool:
        return self.accounts is not None and len(self.accounts) > 1

    def account_of(self, seller: SellerSettings) -> AccountKey:
        """The selling-partner account a seller's Amazon calls go to."""
        return self.ctx.for_seller(seller.name).account_key

    def _amazon_step(self, name: str, seller: SellerSettings, fn: Callable[[Context], Any]) -> Any:
        """A step that talks to Amazon for ``seller``: with its account's client, and,
        with several accounts, kept apart per account (backoff, health, refused login)."""
        ctx = self.ctx.for_seller(seller.name)
        account = str(ctx.account_key) if self._several_accounts else None
        return self.steps.run(name, lambda: fn(ctx), account)

    def track(self) -> None:
        if not self.halt.is_set():
            self._track_feeds()
        self.report()

    def purge_archives(self) -> None:
        """Drop archive days past ``archive_retention_days`` from every seller's archive.

        A result report re-reads its file from the archive; a file purged before its
        lines ended gets the report from the ledger's fields instead, with a note.
        """
        days = self.settings.service.archive_retention_days
        for s in self.mine():
            removed = self._step("purge", functools.partial(s.inbox.purge_archive, days))
            if removed:
                logs.event("archive_purged", seller=s.seller.name, days_removed=removed)
            swept = self._step("purge", functools.partial(s.outbox.sweep_temps, STALE_TEMP_SECONDS))
            if swept:
                logs.event("outbox_temps_removed", seller=s.seller.name, files=swept)

    def alert(self) -> None:
        """Tell people what went wrong (processors/alerts.py): a digest per interval."""
        if self.alert_targets:
            self._step(
                "alerts",
                lambda: send_alerts(
                    self.ledger, self.settings.alerts, self.alert_targets, _utcnow()
                ),
            )

    def _notify(self, line_ids: list[int], ctx: Context) -> None:
        """Opt-in buyer emails for lines just confirmed (a no-op unless email.enabled).

        Sent after the ledger has recorded the confirmation, so a crash in between loses a
        courtesy email, never a confirmation; Amazon sends buyers its own notice anyway.
        """
        if line_ids:
            self._step("notify", functools.partial(send_shipped_notices, ctx, line_ids))

    def report(self) -> list[str]:
        """Result reports of finished files, and each seller's status note."""
        written = self._step("report", self.reports.write_finished) or []
        self._step("status", self.reports.write_status_notes)
        return written

    def _step(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run one step under the StepRunner's policy (log, health, backoff).

        Every step reads its work from the ledger, so a step that failed halfway leaves
        nothing that the next run does not pick up.
        """
        return self.steps.run(name, fn)

    # -- running -----------------------------------------------------------------------

    def run_forever(self) -> None:
        """Intake on inbox events and every scan interval; batch and track on theirs."""
        svc = self.settings.service
        sched = schedule.Scheduler()
        sched.every(svc.inbox_scan_seconds).seconds.do(self.intake)  # type: ignore[arg-type]
        sched.every(svc.batch_interval_seconds).seconds.do(self.batch)  # type: ignore[arg-type]
        sched.every(svc.poll_interval_seconds).seconds.do(self.mirror)  # type: ignore[arg-type]
        sched.every(svc.batch_interval_seconds).seconds.do(self.reconcile)  # type: ignore[arg-type]
        sched.every(svc.poll_interval_seconds).seconds.do(self.track)  # type: ignore[arg-type]
        sched.every(6).hours.do(self.purge_archives)
        # Often, so a digest leaves soon after its interval; alerts.py keeps the interval.
        alert_every = min(60.0, max(1.0, self.settings.alerts.digest_seconds))
        sched.every(alert_every).seconds.do(self.alert)  # type: ignore[arg-type]
        # A restart first finishes what the ledger says is under way.
        self.purge_archives()
        self.intake()
        self.mirror()
        self.batch()
        self.track()
        while not self.stop_event.is_set():
            sched.run_pending()
            idle = sched.idle_seconds
            wait = max(0.05, min(1.0, idle if idle is not None else 1.0))
            if self._wait_inboxes(wait) and not self.stop_event.is_set():
                self.intake()

    def run_once(self, timeout: float, pause: float = 0.2) -> OnceOutcome:
        """Take in what is ready, then batch and track at once until every line has ended.

        Ends early when a step stops on an error that waiting cannot fix (a refused login,
        a ledger or disk error, a bug): the exit code says which, never OK. At the
        deadline the step under way is interrupted at its next wait for Amazon.
        """
        if not self.stop_event.is_set():
            self.halt.clear()
        self.steps.forget_stops()
        timer = threading.Timer(timeout, self._deadline_passed, args=(timeout,))
        timer.daemon = True
        timer.start()
        try:
            self.intake()
            reports: list[str] = []
            while True:
                self.mirror()
                self.batch()
                self._track_feeds()
                reports.extend(self.report())
                open_lines = self._open_lines()
                if self.halt.is_set() or self._once_must_end():
                    break
                if open_lines == 0 and not self._inboxes_settling():
                    break
                self.halt.wait(pause)
                self.intake()  # files that settled meanwhile
        finally:
            timer.cancel()
        self.reconcile()
        self.alert()
        return OnceOutcome(
            exit=self._once_exit(open_lines, reports),
            files=list(self.intake_results),
            open_lines=open_lines,
            reports=reports,
        )

    def _deadline_passed(self, timeout: float) -> None:
        logs.event("timeout_reached", logging.WARNING, timeout_seconds=timeout)
        self.halt.set()

    def _once_must_end(self) -> bool:
        """A stopped step, or a refused login of every account: waiting until the timeout
        cannot fix it. With several accounts the others' lines are seen to the end."""
        if self.steps.stopped is not None:
            return True
        if not self._several_accounts:
            return self.steps.login_refused is not None
        assert self.accounts is not None
        return len(self.steps.refused) >= len(self.accounts)

    def _open_lines(self) -> int:
        """Lines still queued or submitted, except those of accounts whose login was
        refused: they wait for the login to be fixed, not for this run."""
        refused = self.steps.refused
        if not refused or not self._several_accounts:
            counts = status_counts(self.ledger)
            return counts.counts["in_queue"] + counts.counts["submitted"]
        total = 0
        for s in self.sellers:
            if str(self.account_of(s.seller)) in refused:
                continue
            counts = status_counts(self.ledger, s.seller.name)
            total += counts.counts["in_queue"] + counts.counts["submitted"]
        return total

    def _once_exit(self, open_lines: int, reports: list[str]) -> ExitCode:
        stop = self.steps.login_refused or self.steps.stopped
        if stop is not None:
            return ExitCode(stop.exit_code)
        if open_lines:
            return ExitCode.TIMED_OUT
        if any(r.file_error for r in self.intake_results):
            return ExitCode.FILE_REJECTED
        if any(r.rejected for r in self.intake_results) or self.reports.any_not_confirmed:
            return ExitCode.LINES_NOT_CONFIRMED
        return ExitCode.OK

    def _inboxes_settling(self) -> bool:
        """Files seen in an inbox but still settling: --once must wait and take them too."""
        return any(s.inbox.settling() for s in self.mine())

    def _wait_inboxes(self, timeout: float) -> bool:
        mine = self.mine()
        if not mine:  # no lease held (yet): nothing to wait on but the run's end
            self.stop_event.wait(timeout)
            return False
        share = timeout / len(mine)
        fired = False
        for s in mine:
            try:
                fired = s.inbox.wait(share) or fired
            except Exception as exc:  # an SFTP hiccup: the next scan tries again
                logs.event("inbox_wait_failed", seller=s.seller.name, error=str(exc))
                time.sleep(share)
        return fired

    def stop(self, why: str) -> None:
        """End the run: the step under way stops at its next wait, no new feed starts."""
        logs.event("stopping", reason=why)
        self.stop_event.set()
        self.halt.set()

    @contextmanager
    def signals(self) -> Iterator[None]:
        """SIGTERM, SIGINT and SIGHUP stop the run within seconds (main thread only).

        SIGHUP stops rather than reloads: the settings, the ledger's Amazon identity and
        the inboxes are all checked at start, and a reload that skipped those checks could
        run on settings that a start would refuse. A supervisor restarts with the new ones.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                logs.event(
                    "stopping",
                    signal=name,
                    action="stop, not reload",
                    hint="settings are read at start: start the service again to apply them",
                )
            else:
                logs.event("stopping", signal=name)
            self.stop_event.set()
            self.halt.set()

        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        old = {sig: signal.signal(sig, stop) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _sleep_unless(halt: threading.Event) -> Callable[[float], None]:
    """The SP-API client's sleep (rate limits, retry backoff): waits unless the run is
    stopping, and then raises Stopping before the next request is sent.

    createFeed may wait two minutes for its rate limit; SIGTERM or --timeout must not.
    """

    def sleep(seconds: float) -> None:
        if halt.wait(seconds):
            raise Stopping("the run is stopping")

    return sleep


def seller_auth(secrets: Secrets, seller: SellerSettings) -> SftpAuth | None:
    """The SFTP login for a seller's inbox and outbox, from the secrets (None: local)."""
    secret = secrets.sftp.get(seller.credentials)
    if secret is None:
        return None
    return SftpAuth(
        password=secret.password.get_secret_value() if secret.password else None,
        private_key_path=secret.private_key_path,
        private_key_passphrase=secret.private_key_passphrase.get_secret_value()
        if secret.private_key_passphrase
        else None,
    )


def seller_options(settings: Settings, seller: SellerSettings, *, watch: bool) -> InboxOptions:
    # The default seller keeps processing/, archive/ and quarantine/ in the data directory.
    default_inbox = str(settings.data_dir / "inbox")
    work_root = str(settings.data_dir) if seller.inbox == default_inbox else None
    return InboxOptions(
        settle_seconds=settings.settle_seconds_for(seller),
        done_marker=seller.done_marker,
        names_taken=NameFilter(tuple(seller.include), tuple(seller.exclude)),
        known_hosts=seller.known_hosts,
        trust_on_first_use=seller.trust_on_first_use,
        work_root=work_root,
        watch=watch and not is_sftp(seller.inbox),
    )


def open_seller_outbox(settings: Settings, secrets: Secrets, seller: SellerSettings) -> Outbox:
    """A seller's outbox opened as the service opens it (the console reads reports there)."""
    options = seller_options(settings, seller, watch=False)
    return open_outbox(seller.outbox, options=options, auth=seller_auth(secrets, seller))


def _open_seller(
    settings: Settings,
    secrets: Secrets,
    seller: SellerSettings,
    *,
    watch: bool,
    links: SftpLinks | None = None,
) -> SellerIO:
    auth = seller_auth(secrets, seller)
    options = seller_options(settings, seller, watch=watch)
    inbox = open_inbox(seller.inbox, options=options, auth=auth, links=links)
    try:
        outbox = open_outbox(seller.outbox, options=options, auth=auth, links=links)
    except BaseException:
        inbox.close()
        raise
    return SellerIO(seller, inbox, outbox)


def _start_console(settings: Settings, secrets: Secrets, ledger: Ledger) -> Any:
    """The web console in a thread of the service, on its ledger, when [web] enabled."""
    if not settings.web.enabled:
        return None
    from console.serve import ConsoleThread

    web = ConsoleThread(settings, secrets, ledger, settings.web.host, settings.web.port).start()
    logs.event("console_started", url=web.url)
    return web


@contextmanager
def _closing_on_error() -> Iterator[list[Callable[[], None]]]:
    undo: list[Callable[[], None]] = []
    try:
        yield undo
    except BaseException:
        for fn in reversed(undo):
            _quietly(fn)
        raise


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except Exception as exc:
        logs.log.warning("while closing: %s", exc)


#: The simulator's refresh token of an account that is not the default one.
def _simulated_token(simulator: Simulator, credentials: str) -> str:
    base = simulator.config.refresh_token
    return base if credentials == DEFAULT_ACCOUNT else f"{base}-{credentials}"


def simulated_accounts(settings: Settings, simulator: Simulator) -> dict[str, Account]:
    """The accounts of a simulated run: each credentials name is its own simulated
    selling partner, in its seller's region (the simulator serves every region)."""

    def token(credentials: str) -> SecretStr:
        return SecretStr(_simulated_token(simulator, credentials))

    def endpoint(region: str) -> str:
        return simulator.url if region == "NA" else simulator.endpoint(region)

    plan = plan_accounts(
        settings, token, endpoint=endpoint, token_url=f"{simulator.url}/auth/o2/token"
    )
    for account in {a.key: a for a in plan.values()}.values():
        if not account.key.is_default:
            simulator.add_partner(
                account.refresh_token.get_secret_value(),
                f"SIMULATED-{account.key.name.upper()}-{account.key.region}",
                account.key.region,
            )
    return plan
