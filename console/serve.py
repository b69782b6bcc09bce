"""Serving the console with uvicorn: in the foreground (`run.py web`) or in a thread of
the service (``[web] enabled = true``), on the same ledger object the service uses."""

from __future__ import annotations

import threading
import time

import uvicorn

from config.settings import Secrets, Settings
from console.app import create_app
from processors.ledger.store import Ledger


class ConsoleThread:
    """A uvicorn server in a daemon thread; ``port`` is the one bound (0 picks a free one)."""

    def __init__(
        self, settings: Settings, secrets: Secrets, ledger: Ledger, host: str, port: int
    ) -> None:
        app = create_app(settings, secrets, ledger)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="console", daemon=True)
        self.host = host

    def start(self, timeout: float = 10.0) -> ConsoleThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the web console did not start on {self.host}")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        sock = self.server.servers[0].sockets[0]
        return int(sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_forever(
    settings: Settings, secrets: Secrets, ledger: Ledger, host: str, port: int
) -> None:
    """`run.py web`: until Ctrl-C or SIGTERM (uvicorn's own signal handling)."""
    uvicorn.run(
        create_app(settings, secrets, ledger),
        host=host,
        port=port,
        log_level="info",
        access_log=False,  # query strings hold order ids and searches; keep them out of logs
    )
