"""The running prediction server, as the deployment asset sees it: find it, make it follow the alias."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg

from mlops_assets.errors import MlopsError
from mlops_assets.serving.server import process_start

logger = logging.getLogger(__name__)


def server_state_file(serving_root: Path, model: str) -> Path:
    return serving_root / model / "server.json"


def prediction_log_folder(serving_root: Path, model: str) -> Path:
    return serving_root / model / "prediction_log"


def _alive(state: dict) -> bool:
    """Whether the server that wrote ``state`` still runs: its pid is alive and, where known, started when it did."""
    pid = int(state["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's: certainly not our server unless its start time says so
        pass
    started = state.get("pid_started")
    return started is None or process_start(pid) in (None, started)


class EndpointResource(dg.ConfigurableResource):
    """Talks to `mlops serve` through the state file it writes and its admin routes."""

    serving_root: str
    admin_token: str | None = None
    timeout_s: float = 30.0

    def running(self, model: str) -> dict | None:
        """The server's state (url, pid) if one is running for this model; a stale state file is removed."""
        path = server_state_file(Path(self.serving_root), model)
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:  # cut short: the server died while writing it (atomic_write makes that unlikely)
            state = {"pid": -1}
        if _alive(state):
            return state
        path.unlink(missing_ok=True)
        logger.warning("removed %s: the %s server it names (pid %s) is gone", path, model, state.get("pid"))
        return None

    def _call(self, url: str, *, body: dict | None = None, method: str | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method or ("POST" if body is not None else "GET"))
        request.add_header("content-type", "application/json")
        if self.admin_token:
            request.add_header("authorization", f"Bearer {self.admin_token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise MlopsError(f"{url} answered {exc.code}: {exc.read().decode(errors='replace')}") from exc

    def follow(self, model: str, version: str) -> str:
        """Make a running server serve `version` and verify it; a text for the asset's metadata."""
        state = self.running(model)
        if state is None:
            return "no server running (start one with `mlops serve`)"
        url = state["url"]
        current = self._call(f"{url}/version").get("model_version")
        if str(current) != str(version):
            if not self.admin_token:
                raise MlopsError(f"server at {url} serves v{current}, not v{version}, and no admin token is set (MLOPS_ADMIN_TOKEN)")
            self._call(f"{url}/admin/reload", body={"version": str(version)})
        served = self._call(f"{url}/version").get("model_version")
        if str(served) != str(version):
            raise MlopsError(f"server at {url} still serves v{served} after reload to v{version}")
        return f"{url} serves v{served}" + ("" if str(current) == str(version) else f" (reloaded from v{current})")

    def experiment(self, model: str) -> dict | None:
        """The running server's models: champion version, canary and shadow (GET /version); None without a server."""
        state = self.running(model)
        return None if state is None else {"url": state["url"], **self._call(f"{state['url']}/version")}

    def start_experiment(self, model: str, mode: str, version: str, percent: float | None = None) -> str:
        """Run ``version`` as the running server's shadow or canary; a text for the asset's metadata."""
        state = self._admin_target(model)
        body: dict = {"version": str(version)} if mode == "shadow" else {"version": str(version), "percent": percent}
        self._call(f"{state['url']}/admin/{mode}", body=body)
        share = "" if mode == "shadow" else f" for {percent}% of callers"
        return f"{state['url']} runs v{version} as its {mode}{share}"

    def end_experiment(self, model: str, mode: str) -> str:
        state = self._admin_target(model)
        self._call(f"{state['url']}/admin/{mode}", method="DELETE")
        return f"{state['url']} ended its {mode}"

    def _admin_target(self, model: str) -> dict:
        state = self.running(model)
        if state is None:
            raise MlopsError(f"no {model} server is running: start one with `mlops serve`")
        if not self.admin_token:
            raise MlopsError(f"changing the server at {state['url']} needs an admin token (MLOPS_ADMIN_TOKEN)")
        return state
