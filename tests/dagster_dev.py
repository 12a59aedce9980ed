"""`dagster dev -w workspace.yaml` for a test: its own process group, ready on /server_info, stopped whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import default_signals, free_port

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_S = 60


@dataclass(frozen=True)
class DagsterDev:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout_s: float) -> float:
        """Seconds until the webserver answered /server_info; fails with the log if it died or never did."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            assert self.process.poll() is None, f"dagster dev exited with {self.process.returncode}:\n{self.tail()}"
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=2):
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"dagster dev did not answer /server_info within {timeout_s:.0f}s:\n{self.tail()}")


@contextmanager
def dagster_dev(env: Mapping[str, str], log: Path) -> Iterator[DagsterDev]:
    """Started with SIGINT and SIGTERM at their defaults in a new session, so one SIGTERM to the
    group stops all five processes; fails if any of them is still there afterwards."""
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster")), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=dict(env), start_new_session=True, preexec_fn=default_signals, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield DagsterDev(process, port, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT_S)
        _assert_group_gone(process.pid)


def _assert_group_gone(pgid: int) -> None:
    """Every process of the group has exited (the children may outlive the parent by a moment)."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)
    raise AssertionError(f"processes of dagster dev's group {pgid} were still running {STOP_TIMEOUT_S}s after SIGTERM; killed them")
