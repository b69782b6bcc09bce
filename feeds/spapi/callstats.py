"""A hook for counting SP-API calls, so the console's /metrics can show calls, throttles
and errors per operation without feeds/ knowing about Prometheus.

The transport reports every attempt's outcome here; whoever wants the numbers
registers an observer (console/metrics.py does). With no observer it costs a loop over
an empty list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

OK = "ok"
THROTTLED = "throttled"  # HTTP 429
ERROR = "error"  # any other failure: HTTP 4xx/5xx, timeout, dropped connection

#: (operation, outcome) for each attempt sent (a retried call counts each attempt).
Observer = Callable[[str, str], None]

_observers: list[Observer] = []


def add_observer(fn: Observer) -> Callable[[], None]:
    """Register ``fn``; returns the function that unregisters it."""
    _observers.append(fn)
    return lambda: _observers.remove(fn) if fn in _observers else None


def report(operation: str, outcome: str) -> None:
    for fn in list(_observers):
        try:
            fn(operation, outcome)
        except Exception:  # counting must never break a call to Amazon
            log.exception("SP-API call observer failed")
