"""The prediction server as a bare ASGI callable: no framework between the socket and the scorer.

One dict lookup routes a request, orjson encodes the reply, and the scorer is a single
reference read once per request, so ``/admin/reload`` swaps models atomically: a request
started on version 2 is answered, logged and labelled with version 2 even if version 3
is installed while it runs.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from mlops_assets.serving.contract import Scorer, ScorerLoader, UnknownEntityError
from mlops_assets.serving.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from mlops_assets.serving.metrics import ServingMetrics
from mlops_assets.serving.prediction_log import PredictionLogWriter
from mlops_assets.serving.request import REQUEST_ID, RequestError, parse_rows

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON = b"application/json"
MAX_ADMIN_BODY_BYTES = 1024


class _Reply(NamedTuple):
    status: int
    body: bytes
    version: str | None  # the model version this reply speaks for, sent as x-model-version
    content_type: bytes = JSON


Handler = Callable[[Scope, Receive], Awaitable[_Reply]]


def create_app(
    loader: ScorerLoader,
    *,
    admin_token: str | None,
    log_folder: Path,
    max_body_bytes: int = 65536,
    max_batch_rows: int = 1000,
) -> PredictionApp:
    """The ASGI app; it loads the champion with ``loader(None)`` at startup and logs predictions under ``log_folder``."""
    return PredictionApp(
        loader,
        admin_token=admin_token,
        log_folder=Path(log_folder),
        max_body_bytes=max_body_bytes,
        max_batch_rows=max_batch_rows,
    )


class PredictionApp:
    """ASGI app serving one swappable Scorer.

    Routes: POST /predict, POST /predict/batch, GET /health, /ready, /metrics, /version,
    POST /admin/reload (bearer token). Errors are ``{"error": {"status", "field", "message"}}``.
    """

    def __init__(
        self,
        loader: ScorerLoader,
        *,
        admin_token: str | None,
        log_folder: Path,
        max_body_bytes: int,
        max_batch_rows: int,
    ) -> None:
        self._loader = loader
        self._admin_token = admin_token.encode() if admin_token is not None else None
        self._log_folder = log_folder
        self._max_body_bytes = max_body_bytes
        self._max_batch_rows = max_batch_rows
        self._scorer: Scorer | None = None
        self._load_error = "the server has not started"
        self._log: PredictionLogWriter | None = None  # opened by the lifespan startup, closed at shutdown
        self._reload_lock = asyncio.Lock()
        self.metrics = ServingMetrics()
        self._routes: dict[tuple[str, str], Handler] = {
            ("POST", "/predict"): self._predict_one,
            ("POST", "/predict/batch"): self._predict_batch,
            ("GET", "/health"): self._health,
            ("GET", "/ready"): self._ready,
            ("GET", "/metrics"): self._metrics,
            ("GET", "/version"): self._version,
            ("POST", "/admin/reload"): self._reload,
        }
        self._paths = {path for _, path in self._routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        handler = self._routes.get((scope["method"], path))
        route = path if path in self._paths else "unmatched"  # never the raw path: bounded label values
        try:
            if handler is None:
                status, message = (405, f"method {scope['method']} not allowed") if path in self._paths else (404, f"no route {path}")
                raise RequestError(status, None, message)
            reply = await handler(scope, receive)
        except RequestError as exc:
            reply = self._error(exc, self._current_version())
        except Exception as exc:  # a bug: answer 500 in the usual shape and keep serving
            logger.exception("unhandled error on %s %s", scope["method"], path)
            reply = self._error(RequestError(500, None, f"internal error: {type(exc).__name__}: {exc}"), self._current_version())
        headers = [(b"content-type", reply.content_type), (b"content-length", str(len(reply.body)).encode())]
        if reply.version is not None:
            headers.append((b"x-model-version", reply.version.encode()))
        self.metrics.observe(route, reply.status, time.perf_counter() - started)
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    # --- lifecycle ---------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._log = PredictionLogWriter(self._log_folder)
                await self._load_at_startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._log is not None:
                    await asyncio.to_thread(self._log.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _load_at_startup(self) -> None:
        """Load the champion; a failure leaves the server up but not ready, so /ready can say why."""
        try:
            scorer = await asyncio.to_thread(self._loader, None)
        except Exception as exc:
            self._load_error = f"could not load the champion model: {type(exc).__name__}: {exc}"
            logger.error("%s; /predict answers 503 until POST /admin/reload succeeds", self._load_error)
            return
        self._install(scorer)

    def _install(self, scorer: Scorer) -> None:
        self._scorer = scorer  # the one atomic swap: readers see the old or the new scorer, never a mix
        self.metrics.set_model(scorer.model_name, scorer.version)

    def _current_version(self) -> str | None:
        scorer = self._scorer
        return scorer.version if scorer is not None else None

    # --- prediction --------------------------------------------------------------------------

    async def _predict_one(self, scope: Scope, receive: Receive) -> _Reply:
        return await self._predict(scope, receive, batch=False)

    async def _predict_batch(self, scope: Scope, receive: Receive) -> _Reply:
        return await self._predict(scope, receive, batch=True)

    async def _predict(self, scope: Scope, receive: Receive, *, batch: bool) -> _Reply:
        started = time.perf_counter()
        scorer, log = self._scorer, self._log  # read once: this request uses this scorer throughout
        if scorer is None or log is None:
            raise RequestError(503, None, f"no model loaded: {self._load_error}")
        version = scorer.version
        try:
            body = await self._read_body(scope, receive, self._max_body_bytes)
            rows = parse_rows(body, scorer.fields, batch=batch, max_rows=self._max_batch_rows)
            ids = [row.pop(REQUEST_ID) for row in rows]
            scores = await asyncio.to_thread(scorer.score, rows)
        except RequestError as exc:
            return self._error(exc, version)
        except UnknownEntityError as exc:
            return self._error(RequestError(404, exc.field, str(exc)), version)
        except Exception as exc:  # labelled with this request's version, not whatever is current by now
            logger.exception("%s v%s failed to score %d rows", scorer.model_name, version, len(rows))
            return self._error(RequestError(500, None, f"scoring failed: {type(exc).__name__}: {exc}"), version)
        if len(scores) != len(rows):
            message = f"scorer returned {len(scores)} scores for {len(rows)} rows"
            return self._error(RequestError(500, None, message), version)
        scores = [float(s) for s in scores]
        latency_ms = (time.perf_counter() - started) * 1000.0
        ts = datetime.now(UTC)
        route = "/predict/batch" if batch else "/predict"
        for request_id, row, score in zip(ids, rows, scores):
            log.append(
                {
                    "request_id": request_id,
                    "ts": ts,
                    "model_name": scorer.model_name,
                    "model_version": version,
                    "route": route,
                    "inputs": orjson.dumps(row).decode(),
                    "score": score,
                    "latency_ms": latency_ms,
                    "shadow_version": None,
                    "shadow_score": None,
                }
            )
        self.metrics.count_predictions(version, len(rows))
        if batch:
            doc: dict[str, Any] = {"predictions": [{"request_id": i, "score": s} for i, s in zip(ids, scores)]}
        else:
            doc = {"request_id": ids[0], "score": scores[0]}
        doc["model_name"] = scorer.model_name
        doc["model_version"] = version
        return _Reply(200, orjson.dumps(doc), version)

    # --- probes ------------------------------------------------------------------------------

    async def _health(self, scope: Scope, receive: Receive) -> _Reply:
        return _Reply(200, b'{"status":"ok"}', self._current_version())

    async def _ready(self, scope: Scope, receive: Receive) -> _Reply:
        scorer = self._scorer
        if scorer is None:
            raise RequestError(503, None, f"not ready: {self._load_error}")
        body = {"status": "ready", "model_name": scorer.model_name, "model_version": scorer.version}
        return _Reply(200, orjson.dumps(body), scorer.version)

    async def _version(self, scope: Scope, receive: Receive) -> _Reply:
        scorer = self._scorer
        if scorer is None:
            raise RequestError(503, None, f"no model loaded: {self._load_error}")
        return _Reply(200, orjson.dumps({"model_name": scorer.model_name, "model_version": scorer.version}), scorer.version)

    async def _metrics(self, scope: Scope, receive: Receive) -> _Reply:
        return _Reply(200, self.metrics.render().encode(), self._current_version(), METRICS_CONTENT_TYPE.encode())

    # --- admin -------------------------------------------------------------------------------

    async def _reload(self, scope: Scope, receive: Receive) -> _Reply:
        """Load a version (or the current champion) on a worker thread, then swap it in; keep the old one on failure."""
        self._authorize(scope)
        version = _requested_version(await self._read_body(scope, receive, MAX_ADMIN_BODY_BYTES))
        async with self._reload_lock:  # two reloads at once would both report the same "previous"
            previous = self._current_version()
            try:
                scorer = await asyncio.to_thread(self._loader, version)
            except Exception as exc:
                what = f"version {version}" if version is not None else "the current champion"
                logger.exception("reload of %s failed", what)
                kept = f"still serving version {previous}" if previous is not None else "still no model loaded"
                raise RequestError(
                    500, "version" if version is not None else None, f"could not load {what}: {type(exc).__name__}: {exc}; {kept}"
                ) from None
            self._install(scorer)
        body = {"model_name": scorer.model_name, "model_version": scorer.version, "previous": previous}
        return _Reply(200, orjson.dumps(body), scorer.version)

    def _authorize(self, scope: Scope) -> None:
        if self._admin_token is None:
            raise RequestError(403, None, "admin disabled: set MLOPS_ADMIN_TOKEN")
        given = _header(scope, b"authorization")
        if given is None or not given.startswith(b"Bearer "):
            raise RequestError(401, None, "admin routes need an 'Authorization: Bearer <token>' header")
        if not hmac.compare_digest(given[len(b"Bearer ") :], self._admin_token):
            raise RequestError(401, None, "invalid admin token")

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
        """The whole body, refusing more than ``limit`` bytes whether declared or actually sent."""
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(413, None, f"body of {int(declared)} bytes exceeds the {limit}-byte limit")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, None, "client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestError(413, None, f"body exceeds the {limit}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    @staticmethod
    def _error(exc: RequestError, version: str | None) -> _Reply:
        body = {"error": {"status": exc.status, "field": exc.field, "message": exc.message}}
        return _Reply(exc.status, orjson.dumps(body), version)


def _requested_version(body: bytes) -> str | None:
    """The ``version`` of an optional ``{"version": "3"}`` body; no body means the current champion."""
    if not body.strip():
        return None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, None, f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RequestError(400, None, 'body must be a JSON object like {"version": "3"}')
    version = doc.get("version")
    if version is not None and (not isinstance(version, str) or not version):
        raise RequestError(422, "version", 'version must be a non-empty string like "3", or omitted for the champion')
    return version


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None
