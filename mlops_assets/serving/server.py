"""Running the app: ``serve`` for the CLI (blocking) and ``BackgroundServer`` for tests and demos.

Both run one uvicorn process with no access log (a log line per request costs more than a
prediction) and the lifespan on, so shutdown always flushes the prediction log.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

GRACEFUL_SHUTDOWN_S = 5  # in-flight requests get this long before they are cancelled
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback probes never go through a proxy


class _Server(uvicorn.Server):
    """A uvicorn server that reports when its socket is listening and when it has shut down."""

    def __init__(
        self,
        config: uvicorn.Config,
        on_started: Callable[[str, int], None],
        on_stopped: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._on_stopped = on_stopped

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self._on_started(host, port)

    async def shutdown(self, sockets: Any = None) -> None:
        # Runs before uvicorn re-raises a caught SIGTERM, which ends the process without unwinding.
        await super().shutdown(sockets)
        self._on_stopped()


def _config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        lifespan="on",
        ws="none",
        proxy_headers=False,  # nothing here reads the client address: skip the middleware that rewrites it
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 8765, state_files: Mapping[str, Path] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; ``state_files`` (model name -> path) tell other processes (the CLI,
    Dagster) where each model's routes listen.

    As uvicorn does, a SIGTERM is re-raised after the graceful shutdown, so the process then
    exits by that signal; the state files are already gone by then. Once the app has loaded,
    ``settle_heap`` runs before the state files say where to send requests.
    """
    written: list[Path] = []

    def on_started(bound_host: str, bound_port: int) -> None:
        settle_heap()
        for model, path in (state_files or {}).items():
            _write_state(path, bound_host, bound_port, model)
            written.append(path)

    def on_stopped() -> None:
        while written:
            written.pop().unlink(missing_ok=True)

    try:
        _Server(_config(app, host, port), on_started, on_stopped).run()
    finally:  # also on a crash, so no stale file points at a dead process
        on_stopped()


def settle_heap() -> None:
    """Collect start-up's garbage once, freeze what is left and turn the cyclic collector (back) on.

    Start-up builds some 500,000 objects that live as long as the process (libraries, the
    model, the feature store): ``mlops serve`` turns the collector off while it builds them
    (collecting them again and again takes about 1.2 s of the start) and calls this once the
    app is loaded. Frozen, they are never walked again: a full collection over them pauses
    every request for 140-270 ms.
    """
    gc.collect()
    gc.freeze()
    gc.enable()


def _write_state(path: Path, host: str, port: int, model: str) -> None:
    from mlops_assets.files import atomic_write
    from mlops_assets.serving.app import model_prefix

    state = {
        "pid": os.getpid(),
        "pid_started": process_start(os.getpid()),  # with the pid, names this process even after the pid is reused
        "host": host,
        "port": port,
        "server": f"http://{host}:{port}",
        "url": f"http://{host}:{port}{model_prefix(model)}",
        "model": model,
        "started_at": datetime.now(UTC).isoformat(),
    }
    atomic_write(path, json.dumps(state, indent=2).encode())


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (Linux ``/proc``); None where unknown.

    A pid is reused once its process is gone: a state file's pid that is alive may be some
    other program. The pair (pid, start) is not reused.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the command name before it may hold spaces and parentheses


class BackgroundServer:
    """The app on a free loopback port in a daemon thread; ``with BackgroundServer(app) as s: s.url``."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout_s: float = 15.0) -> None:
        self._url: str | None = None
        self._failure: BaseException | None = None
        self._startup_timeout_s = startup_timeout_s
        self._server = _Server(_config(app, host, port), self._on_started)
        self._thread = threading.Thread(target=self._run, name="mlops-background-server", daemon=True)

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the server is not listening yet: call start() or use it as a context manager")
        return self._url

    def start(self) -> BackgroundServer:
        """Start serving and return once ``/health`` answers 200."""
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not self._healthy():
            if not self._thread.is_alive():
                raise RuntimeError(f"the server stopped during startup: {self._failure!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server did not answer /health within {self._startup_timeout_s}s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop accepting, finish in-flight requests, run the lifespan shutdown (flushing the log), join."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(GRACEFUL_SHUTDOWN_S + 10)
            if self._thread.is_alive():
                raise TimeoutError("the server thread did not stop")

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            self._server.run()
        except BaseException as exc:  # SystemExit on a failed bind would otherwise vanish with the thread
            self._failure = exc

    def _on_started(self, host: str, port: int) -> None:
        self._url = f"http://{host}:{port}"

    def _healthy(self) -> bool:
        if self._url is None:
            return False
        try:
            with _DIRECT.open(f"{self._url}/health", timeout=1.0) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
