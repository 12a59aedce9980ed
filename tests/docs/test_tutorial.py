"""docs/tutorial.md, run for real: every code block, in order, on a copy of the repository without the access domain.

Blocks with ``title="path"`` are files the reader writes: they are written, and must equal the
repository's own file at the end (so the tutorial shows the code that ships). Other ``python``
blocks run in a fresh interpreter; ``bash`` blocks run in one shell session (so a server started
in the background is still there for the next block), each must exit 0.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DATA, free_port

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".mlops*", "test-artifacts", "__pycache__", "*.pyc", ".pytest_cache")
BLOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    language: str
    title: str | None
    text: str
    line: int


def blocks(markdown: str) -> list[Block]:
    found = []
    for match in BLOCK.finditer(markdown):
        title = re.search(r'title="([^"]+)"', match.group(2))
        found.append(Block(match.group(1), title.group(1) if title else None, match.group(3), markdown[: match.start()].count("\n") + 1))
    return found


class Shell:
    """One bash session fed block after block; each block's status is read back through a marker line.

    A thread reads the session's output line by line into a queue, so waiting for a block never
    mixes ``select`` with buffered reads.
    """

    def __init__(self, cwd: Path, env: dict[str, str], log: Path) -> None:
        self._log = log.open("w")
        self._process = subprocess.Popen(["bash", "--norc", "--noprofile"], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.run("set -m; set -o pipefail", "setup")

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put("")  # the session ended

    def run(self, script: str, where: str) -> str:
        marker = f"__block_done_{time.monotonic_ns()}__"
        assert self._process.stdin is not None
        self._process.stdin.write(f"{{\n{script}\n}}\nstatus=$?; printf '\\n%s %s\\n' {marker} $status\n")  # own line even after output without a newline
        self._process.stdin.flush()
        output, deadline = [], time.monotonic() + BLOCK_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=5)
            except queue.Empty:
                continue
            if not line:
                raise AssertionError(f"{where}: the shell ended:\n{''.join(output)[-3000:]}")
            self._log.write(line)
            self._log.flush()
            if line.startswith(marker):
                status = int(line.split()[1])
                assert status == 0, f"{where} exited with {status}:\n{''.join(output)[-4000:]}"
                return "".join(output)
            output.append(line)
        raise AssertionError(f"{where} did not finish in {BLOCK_TIMEOUT_S}s:\n{''.join(output)[-3000:]}")

    def close(self) -> None:
        """End the session and anything it left running (a background job has its own process group)."""
        subprocess.run(["pkill", "-TERM", "-s", str(self._process.pid)], check=False)
        try:
            self._process.wait(120)  # 30 s was too short once, on a machine loaded by other jobs
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-KILL", "-s", str(self._process.pid)], check=False)
            self._process.wait(30)
        finally:
            self._log.close()


@pytest.mark.integration
def test_every_block_of_the_tutorial_runs_and_shows_the_shipped_code(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=COPY_IGNORE)
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(project),
           "MLOPS_HOME": str(tmp_path / "home"), "MLOPS_DATA": str(DATA), "PORT": str(free_port()), "TMPDIR": str(tmp_path)}  # fmt: skip
    env.pop("MLOPS_ADMIN_TOKEN", None)
    written: dict[str, str] = {}
    shell = Shell(project, env, tmp_path / "tutorial.log")
    outputs = []
    try:
        for block in blocks(TUTORIAL.read_text()):
            where = f"docs/tutorial.md line {block.line} ({block.language}{' ' + block.title if block.title else ''})"
            if block.title:
                path = project / block.title
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(block.text)
                written[block.title] = block.text
            elif block.language == "bash":
                outputs.append(shell.run(block.text, where))
            elif block.language == "python":
                done = subprocess.run([sys.executable, "-c", block.text], cwd=project, env=env, capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, f"{where}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
                outputs.append(done.stdout)
            else:
                raise AssertionError(f"{where}: no runner for {block.language!r} blocks")
    finally:
        shell.close()
    for title, text in written.items():  # the last version of each file the tutorial writes is the shipped one
        assert text == (ROOT / title).read_text(), f"docs/tutorial.md shows {title} differently from the repository's file"
    assert {"domains/access_requests/source.py", "domains/access_requests/model.py", "feature_repo/access_requests.py"} <= set(written)
    printed = "\n".join(outputs)
    assert "access/deployed_endpoint" in printed and "access_retrain" in printed
    assert '"model_name":"access"' in printed and '"score":' in printed
    assert "access_new_labels_sensor:" in printed and "retrain" in printed.lower()
    assert_retrained_by_the_sensor(tmp_path / "home")


def assert_retrained_by_the_sensor(home: Path) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{home / 'mlflow.db'}"
    versions = MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions("name='access'")
    triggers = sorted((int(v.version), v.tags.get("trigger", "")) for v in versions)
    assert triggers[0][1] == "cli" and any(t.startswith("access_new_labels_sensor") for _, t in triggers[1:]), triggers
    gated = [v for v in versions if v.tags.get("trigger", "").startswith("access_new_labels_sensor")]
    assert gated and all(v.tags.get("gate.decision") in ("promoted", "refused", "waiting") for v in gated)
