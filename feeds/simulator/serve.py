"""``python run.py simulator``: serve a simulated Amazon in the foreground until Ctrl-C."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from feeds.simulator.app import Simulator, start_simulator
from feeds.simulator.config import FaultConfig, SimulatorConfig
from feeds.simulator.orderbook import OrderBook

GENERATED_ORDERS = 300


def build(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    orders: Path | None = None,
    faults: list[str] | None = None,
    seed: int = 0,
    auto_create_orders: bool = False,
    processing_delay: float = 0.0,
    enforce_rate_limits: bool = True,
    accounts: list[str] | None = None,
) -> Simulator:
    """Start a simulator as the command line describes it (ValueError on a bad fault spec
    or account). ``accounts``: further selling partners, ``REFRESH_TOKEN:MERCHANT:REGION``."""
    partners = [_partner(spec) for spec in accounts or []]
    book = OrderBook.load(orders) if orders else OrderBook.generate(seed, GENERATED_ORDERS)
    config = SimulatorConfig(
        host=host,
        port=port,
        seed=seed,
        processing_delay=processing_delay,
        auto_create_orders=auto_create_orders,
        enforce_rate_limits=enforce_rate_limits,
        faults=FaultConfig.parse(faults or []),
    )
    sim = start_simulator(config, book)
    for token, merchant, region in partners:
        sim.add_partner(token, merchant, region)
    return sim


def _partner(spec: str) -> tuple[str, str, str]:
    """``REFRESH_TOKEN:MERCHANT:REGION`` (the token may hold colons itself)."""
    parts = spec.rsplit(":", 2)
    if len(parts) != 3 or not all(parts) or parts[2].upper() not in ("NA", "EU", "FE"):
        raise ValueError(f"an account is REFRESH_TOKEN:MERCHANT:REGION (NA, EU or FE): {spec!r}")
    return parts[0], parts[1], parts[2].upper()


def banner(sim: Simulator) -> str:
    c = sim.config
    return (
        f"SIMULATED Amazon SP-API (not Amazon) listening on {sim.url}\n"
        f"  LWA token URL: {sim.url}/auth/o2/token\n"
        f"  client id: {c.client_id}  client secret: {c.client_secret}  "
        f"refresh token: {c.refresh_token}  (the simulator's own made-up values)\n"
        + "".join(
            f"  account {p.merchant_id} ({p.region}): refresh token {p.refresh_token} at "
            f"{sim.url if p.region == 'NA' else sim.endpoint(p.region)}\n"
            for p in sim.tokens.partners()
            if p.refresh_token != c.refresh_token
        )
        + f"  orders: {len(sim.orderbook)}  auto-create unknown orders: {c.auto_create_orders}  "
        f"processing delay: {c.processing_delay}s  rate limits: {c.enforce_rate_limits}"
    )


def serve_forever(sim: Simulator, echo: Callable[[str], None], stop: threading.Event) -> None:
    """Print where it listens, then wait until ``stop`` is set or Ctrl-C; always stops."""
    echo(banner(sim))
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        echo("simulator: stopping")
    finally:
        sim.stop()
