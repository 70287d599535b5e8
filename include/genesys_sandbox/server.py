"""Run the sandbox in-process: uvicorn in a background thread on a free 127.0.0.1 port.

with SandboxServer(SandboxSettings(customers=40, conversations=300)) as sb:
    sb.base_url, sb.client_id, sb.client_secret, sb.org, sb.control
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from types import TracebackType

import uvicorn

from genesys_sandbox.app import create_app
from genesys_sandbox.control import SandboxControl
from genesys_sandbox.org import Org
from genesys_sandbox.settings import SandboxSettings
from genesys_sandbox.state import SandboxState

STARTUP_TIMEOUT_SECONDS = 20.0


class SandboxServer:
    def __init__(
        self, settings: SandboxSettings | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.settings = settings or SandboxSettings()
        self.host = host
        self._requested_port = port
        self.state = SandboxState.create(self.settings)
        self.app = create_app(self.state)
        self.control = SandboxControl(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def org(self) -> Org:
        return self.state.org

    @property
    def client_id(self) -> str:
        return self.settings.client_id

    @property
    def client_secret(self) -> str:
        return self.settings.client_secret

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="genesys-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_until_signalled(server: SandboxServer) -> int:
    """Keep a started `server` up until SIGINT or SIGTERM, then stop it (the command-line entry points)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        server.stop()
    return 0
