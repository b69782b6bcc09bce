"""What the service does with a step that stopped: log it, record it, back off, and tell
``--once`` how to end.

The batcher and tracker let every error that is not Amazon's verdict on a shipment
propagate (a refused login, bad settings, a ledger refusal, a full disk, a bug): the
lines stay where they were. Here such an error is

- logged once per failure, with its step;
- written to the ledger's health table, so `status` says "Amazon login refused since
  14:02" or shows the step's last error, whichever process asks;
- retried with exponential backoff (5 s, 10 s, ... 5 min) instead of at every tick, so a
  revoked token does not hammer Amazon's token endpoint;
- remembered for ``--once``, which ends with the error's exit code instead of waiting
  for its timeout or exiting 0.

A transient error (network, throttling) is only logged and retried at the next tick; the
SP-API client already retried it with its own backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feeds.errors import CredentialsError, ExitCode, ShipfeedError, Stopping, TransientError
from feeds.spapi.errors import AccessDenied, LwaCredentialsError
from processors import logs
from processors.ledger import health
from processors.ledger.store import Ledger

#: The steps that talk to Amazon with the seller's login.
AMAZON_STEPS = ("mirror", "batch", "track")
BACKOFF_START_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 300.0


class FilesStuck(ShipfeedError):
    """Files stayed claimed in processing/ after their intake (an unexpected failure):
    they are retried, but until then a seller's file is neither queued nor reported."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StepStop:
    """A step that stopped on an error that waiting alone does not fix."""

    step: str
    error: BaseException
    exit_code: int


def exit_code_of(exc: BaseException) -> int:
    """The error's own code; never OK (a failed step is not success) nor a lines verdict."""
    code = exc.exit_code if isinstance(exc, ShipfeedError) else ExitCode.INTERNAL
    return ExitCode.INTERNAL if code in (ExitCode.OK, ExitCode.LINES_NOT_CONFIRMED) else code


def amazon_refused_login(exc: BaseException) -> bool:
    """LWA refused the refresh token / client, or the SP-API refused the role."""
    return isinstance(exc, LwaCredentialsError | AccessDenied)


class StepRunner:
    """Runs the service's steps under the policy above; one per service."""

    def __init__(
        self,
        ledger: Ledger,
        redact: Callable[[str], str] = lambda text: text,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.ledger = ledger
        self.redact = redact
        self.clock = clock
        self.now = now
        self.failures: dict[str, int] = {}  # consecutive failures per step
        self.retry_at: dict[str, float] = {}
        # Accounts whose login Amazon (or the settings) refused, by account (None: the
        # only account of a single-account service): their steps back off, others go on.
        self.refused: dict[str | None, StepStop] = {}
        self.stopped: StepStop | None = None  # the latest non-transient failure
        self._states = self._read_states()

    @property
    def login_refused(self) -> StepStop | None:
        """The latest refused login of any account."""
        return next(reversed(self.refused.values()), None)

    def forget_stops(self) -> None:
        """A new --once run tries every step again, whatever stopped the last one."""
        self.failures.clear()
        self.retry_at.clear()
        self.refused.clear()
        self.stopped = None

    def _read_states(self) -> dict[str, str]:
        try:
            return {h.component: h.state for h in health.read(self.ledger)}
        except Exception as exc:  # the ledger itself is failing: the steps will say so
            logs.event("health_unreadable", logging.WARNING, error=str(exc))
            return {}

    def run(
        self,
        step: str,
        fn: Callable[[], Any],
        account: str | None = None,
        *,
        scope: str | None = None,
    ) -> Any:
        """Run ``fn`` unless the step is backing off; None when it did not complete.

        ``account``: the selling-partner account an Amazon step works for, with several
        accounts. The step is then kept apart per account (``batch:acme@EU``: its own
        backoff and health row), so one account's refused login stops that account only.
        ``scope``: the part the step works on (a seller's inbox), which backs off on its
        own (the health row stays the step's), so one unreachable inbox does not hold up
        the other sellers' intake.
        """
        name = step if account is None else f"{step}:{account}"
        key = name if scope is None else f"{name}/{scope}"
        if self.clock() < self.retry_at.get(key, 0.0):
            return None
        try:
            result = fn()
        except Stopping:
            logs.event("step_interrupted", step=name)
            return None
        except TransientError as exc:
            message = self.redact(str(exc))
            logs.event("step_failed", logging.WARNING, step=name, error=message)
            self._record(health.step_component(name), health.FAILING, message)
            return None
        except CredentialsError as exc:
            self._refused(name, exc, account, key)
            return None
        except Exception as exc:
            self._failed(name, exc, key)
            return None
        self._succeeded(name, step, account, key)
        return result

    def _back_off(self, step: str) -> float:
        n = self.failures.get(step, 0) + 1
        self.failures[step] = n
        delay = min(BACKOFF_START_SECONDS * 2 ** (n - 1), BACKOFF_MAX_SECONDS)
        self.retry_at[step] = self.clock() + delay
        return delay

    def _refused(self, step: str, exc: CredentialsError, account: str | None, key: str) -> None:
        message = self.redact(str(exc))
        delay = self._back_off(key)
        self.refused.pop(account, None)  # the latest refusal last
        self.refused[account] = StepStop(step, exc, exit_code_of(exc))
        by_amazon = amazon_refused_login(exc)
        logs.event(
            "amazon_login_refused" if by_amazon else "credentials_refused",
            logging.ERROR,
            step=step,
            error=message,
            retry_in_seconds=round(delay),
            **({} if account is None else {"account": account}),
        )
        if by_amazon:
            self._record(health.login_component(account), health.REFUSED, message)
        self._record(health.step_component(step), health.FAILING, message)

    def _failed(self, step: str, exc: Exception, key: str) -> None:
        message = self.redact(f"{type(exc).__name__}: {exc}")
        delay = self._back_off(key)
        self.stopped = StepStop(step, exc, exit_code_of(exc))
        logs.log.error(
            "step %s failed (retry in %ds): %s",
            step,
            round(delay),
            message,
            exc_info=not isinstance(exc, ShipfeedError),  # a bug: keep its traceback
        )
        self._record(health.step_component(step), health.FAILING, message)

    def _succeeded(self, name: str, step: str, account: str | None, key: str) -> None:
        self.failures.pop(key, None)
        self.retry_at.pop(key, None)
        component = health.step_component(name)
        if self._states.get(component, health.OK) == health.OK:
            return
        # A step that had failed got through. Only a step that was failing says anything
        # about the login: a tracking pass with no feed to poll never asks Amazon.
        login = health.login_component(account)
        if step in AMAZON_STEPS and self._states.get(login) == health.REFUSED:
            logs.event("amazon_login_accepted", step=name)
            self.refused.pop(account, None)
            self._record(login, health.OK)
        self._record(component, health.OK)

    def _record(self, component: str, state: str, error: str | None = None) -> None:
        try:
            health.record(self.ledger, component, state, self.now(), error)
        except Exception as exc:  # a broken ledger must not hide the step's own error
            logs.event("health_not_recorded", logging.WARNING, error=str(exc))
            return
        self._states[component] = state
