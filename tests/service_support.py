"""Helpers for the service, e2e, CLI and crash tests: order files, settings, a service."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.settings import Secrets, Settings, load_settings
from feeds.simulator import Simulator
from processors.service import Service

_UPS = {c: (ord(c) - ord("A") + 2) % 10 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
HEADER = "Order ID,Order Item ID,Qty,Ship Date,Carrier,Tracking Number,Service\r\n"
FAST = {
    "settle_seconds": 0,
    "batch_interval_seconds": 0.2,
    "poll_interval_seconds": 0.2,
    "inbox_scan_seconds": 0.2,
}


def ups(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTVWXY") for _ in range(6))
    body += "".join(rng.choice("0123456789") for _ in range(9))
    digits = [int(c) if c.isdigit() else _UPS[c] for c in body]
    return f"1Z{body}{(10 - (sum(digits[0::2]) + 2 * sum(digits[1::2])) % 10) % 10}"


def order_id(n: int, batch: int = 1) -> str:
    return f"111-{batch:07d}-{n:07d}"


def item_id(n: int) -> str:
    return f"{n:014d}"


def order_lines(first: int, count: int, batch: int = 1, seed: int = 1) -> list[str]:
    """One line per order (one item each), shipped today by UPS."""
    rng = random.Random(seed * 1_000_003 + first)
    day = datetime.now(UTC).date().isoformat()
    return [
        f"{order_id(n, batch)},{item_id(n)},1,{day},UPS,{ups(rng)},Ground\r\n"
        for n in range(first, first + count)
    ]


def write_orders(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(HEADER + "".join(lines), encoding="utf-8", newline="")
    tmp.rename(path)
    return path


def sim_secrets(sim: Simulator) -> Secrets:
    return Secrets(
        lwa_client_id=sim.config.client_id,
        lwa_client_secret=sim.config.client_secret,
        lwa_refresh_token=sim.config.refresh_token,
    )


def sim_env(sim: Simulator) -> dict[str, str]:
    return {
        "SHIPFEED_LWA_CLIENT_ID": sim.config.client_id,
        "SHIPFEED_LWA_CLIENT_SECRET": sim.config.client_secret,
        "SHIPFEED_LWA_REFRESH_TOKEN": sim.config.refresh_token,
    }


def settings_for(
    data_dir: Path, sim: Simulator | None = None, ledger_url: str | None = None, **kw: Any
) -> Settings:
    service = {**FAST, **kw.pop("service", {})}
    data: dict[str, Any] = {"data_dir": data_dir, "service": service, "ledger_url": ledger_url}
    if sim is not None:
        data["spapi"] = {"endpoint": sim.url, "token_url": f"{sim.url}/auth/o2/token"}
        data["simulator"] = {"enabled": "never"}
    else:
        data["simulator"] = {"enabled": "always", "processing_delay_seconds": 0}
    data.update(kw)
    return load_settings(None, **data)


def settings_toml(path: Path, sim: Simulator, **service: float) -> Path:
    lines = ["[service]"]
    lines += [f"{k} = {v}" for k, v in {**FAST, **service}.items()]
    lines += [
        "[spapi]",
        f'endpoint = "{sim.url}"',
        f'token_url = "{sim.url}/auth/o2/token"',
        "max_retries = 2",
        "timeout_seconds = 5",
        "[simulator]",
        'enabled = "never"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def service(settings: Settings, secrets: Secrets | None = None) -> Iterator[Service]:
    svc = Service.start(settings, secrets or Secrets(), watch=False, once=True)
    try:
        yield svc
    finally:
        svc.close()


def result_rows(outbox: Path, name: str) -> list[dict[str, Any]]:
    import json

    data = json.loads((outbox / f"{name}.result.json").read_text(encoding="utf-8"))
    return list(data["rows"])
