"""What a simulator run is told: where to listen, whom to trust, and which faults to play.

Kept as plain dataclasses (not the product's pydantic settings) because tests build many
variants quickly and the embedded default maps its own settings onto these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Fault kinds a run can inject, by the name the command line and FaultConfig use.
FAULT_KINDS: tuple[str, ...] = (
    "throttle",  # answer 429 QuotaExceeded
    "error500",  # answer 500 InternalFailure
    "error503",  # answer 503 ServiceUnavailable
    "slow",  # answer after a delay
    "drop",  # close the connection before doing the work
    "drop_after",  # do the work, then close the connection: the lost answer
    "slow_answer",  # do the work, then answer after a delay: the feed exists, unanswered
    "expire_tokens",  # the caller's access token expires early
    "fatal",  # a created feed ends FATAL
    "stuck",  # a created feed stays IN_PROGRESS until released (Simulator.release_feeds)
    "queued",  # a created feed stays IN_QUEUE until released: it can still be cancelled
    "corrupt_report",  # a created feed is processed, but its report names a message never sent
    "garbled_report",  # a created feed is processed, but its report is cut off mid-document
)


@dataclass
class FaultConfig:
    """Rates (0..1, drawn from one seeded random stream) and one-shot triggers per fault.

    ``triggers[kind][operation] = n`` makes the next n calls of that operation meet the fault
    whatever the rates say, so a test can stage one exact failure ("the answer to the next
    createFeed is lost"). For ``fatal``, ``stuck``, ``queued``, ``corrupt_report`` and
    ``garbled_report`` the operation is ``createFeed``: the next n feeds created are doomed
    (``stuck`` and ``queued`` ones only until Simulator.release_feeds: a feed slower than
    any timeout).
    """

    throttle: float = 0.0
    error500: float = 0.0
    error503: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 1.0
    drop: float = 0.0
    drop_after: float = 0.0
    slow_answer: float = 0.0  # waits slow_seconds too
    expire_tokens: float = 0.0
    fatal: float = 0.0
    stuck: float = 0.0
    queued: float = 0.0
    corrupt_report: float = 0.0
    garbled_report: float = 0.0
    gzip: bool = False
    triggers: dict[str, dict[str, int]] = field(default_factory=dict)

    def trigger(self, kind: str, operation: str, times: int = 1) -> FaultConfig:
        """Stage a fault for the next ``times`` calls of ``operation``; returns self to chain."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        ops = self.triggers.setdefault(kind, {})
        ops[operation] = ops.get(operation, 0) + times
        return self

    @classmethod
    def parse(cls, specs: list[str]) -> FaultConfig:
        """Read command-line specs: ``throttle=0.1``, ``slow=0.1:2.0``, ``drop_after=createFeed:1``,
        ``gzip``. A value ``NAME:N`` whose NAME is not a number is a trigger on operation NAME.
        """
        cfg = cls()
        for spec in specs:
            for part in spec.split(","):
                part = part.strip()
                if not part:
                    continue
                kind, _, value = part.partition("=")
                kind = kind.strip()
                if kind == "gzip":
                    cfg.gzip = value.strip().lower() not in ("0", "false", "no", "off")
                    continue
                if kind not in FAULT_KINDS:
                    raise ValueError(
                        f"unknown fault {kind!r} in {part!r}; known: gzip, {', '.join(FAULT_KINDS)}"
                    )
                if not value:
                    raise ValueError(f"fault {kind!r} needs a value, e.g. {kind}=0.1")
                head, _, tail = value.partition(":")
                try:
                    rate = float(head)
                except ValueError:
                    times = int(tail) if tail else 1
                    cfg.trigger(kind, head, times)
                    continue
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"fault rate must be within 0..1, got {part!r}")
                setattr(cfg, kind, rate)
                if tail:
                    if kind != "slow":
                        raise ValueError(f"only slow takes RATE:SECONDS, got {part!r}")
                    cfg.slow_seconds = float(tail)
        return cfg


@dataclass
class SimulatorConfig:
    """One simulator run. Credentials are the simulator's own made-up values, not secrets."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    processing_delay: float = 0.0  # seconds spent in IN_QUEUE and again in IN_PROGRESS
    auto_create_orders: bool = False
    client_id: str = "sim-client-id"
    client_secret: str = "sim-client-secret"
    refresh_token: str = "sim-refresh-token"
    token_lifetime: int = 3600
    strict_tracking: bool = True
    gzip_reports: bool = False
    enforce_rate_limits: bool = True  # Amazon's documented rate and burst per operation
    # Usage plans that differ from the documented ones, operation -> (rate, burst). Amazon
    # grants some selling partners other plans and says so in x-amzn-RateLimit-Limit; the
    # simulator announces and counts these instead, so a client that follows the header
    # can be tested against a plan other than the default.
    rate_plans: dict[str, tuple[float, int]] = field(default_factory=dict)
    merchant_id: str = "A1SIMULATEDSELLER"
    faults: FaultConfig = field(default_factory=FaultConfig)
