"""The prediction server as a bare ASGI callable: no framework between the socket and the scorer.

One process serves any number of models, each under `/models/<name>/...` (and, when it
serves one model, at the root too: `/predict`). One dict lookup routes a request, orjson
encodes the reply, and each model's versions in service (the champion, a canary, a shadow)
are one immutable ``Routing`` read once per request, so the admin routes swap versions
atomically: a request started on version 2 is answered, logged and labelled with version 2
even if version 3 is installed while it runs.

Metrics, the prediction log and a shadow's scoring wait until the answer has been sent, so
none of them delays the client. A shadow scores on its own small thread pool; when it falls
behind, requests skip it (counted).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from mlops_assets.errors import ModelNotFoundError
from mlops_assets.serving.contract import FieldSpec, Scorer, ScorerLoader, UnknownEntityError
from mlops_assets.serving.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from mlops_assets.serving.metrics import ServingMetrics
from mlops_assets.serving.prediction_log import Fsync, PredictionLogWriter
from mlops_assets.serving.request import MAX_BATCH_ROWS, MAX_BODY_BYTES, REQUEST_ID, RequestError, parse_rows, refuse_unknown
from mlops_assets.serving.routing import Groups, Routing, incompatibility, score_groups

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON = b"application/json"
MAX_ADMIN_BODY_BYTES = 1024
VERSION_ONLY = frozenset({"version"})  # the fields each admin route's body may hold
CANARY_FIELDS = frozenset({"version", "percent"})
INLINE_ROWS = 1  # a single row from a scorer marked ``inline`` is scored on the event loop, without a thread hop
SHADOW_THREADS = 2
MAX_SHADOW_BACKLOG = 64  # requests waiting for the shadow; beyond this the shadow samples instead of queueing


@dataclass(frozen=True)
class ModelEndpoint:
    """One model the server answers for: how to load a version, where its predictions go, who its callers are.

    ``loader(None)`` loads the champion at startup. ``sticky_keys`` name the request fields
    that identify a caller, so a canary always answers the same callers; a request without
    them is routed by its request_id.
    """

    name: str
    loader: ScorerLoader
    log_folder: Path
    sticky_keys: tuple[str, ...] = ()
    reject_unknown: bool = True  # a request field the model does not take is a 422 (ModelSpec.unknown_request_fields)
    log_fsync: Fsync = "interval"  # when the prediction log reaches the disk (``prediction_log``): a killed process loses none either way


class _Model:
    """One served model's state: its routing, prediction log, shadow pool and admin lock."""

    def __init__(self, endpoint: ModelEndpoint) -> None:
        self.name = endpoint.name
        self.loader = endpoint.loader
        self.log_folder = Path(endpoint.log_folder)
        self.sticky_keys = tuple(endpoint.sticky_keys)
        self.reject_unknown = endpoint.reject_unknown
        self.log_fsync = endpoint.log_fsync
        self.routing: Routing | None = None
        self.load_error = "the server has not started"
        self.log: PredictionLogWriter | None = None  # opened by the lifespan startup, closed at shutdown
        self.shadow_pool: ThreadPoolExecutor | None = None  # likewise
        self.shadow_backlog = 0
        self.shadow_failures_logged: set[str] = set()  # versions whose first failure is logged, not every one
        self.admin_lock = asyncio.Lock()  # one version change at a time, so each reports the true "previous"

    def current_version(self) -> str | None:
        routing = self.routing
        return routing.champion.version if routing is not None else None

    def serving(self) -> Routing:
        routing = self.routing
        if routing is None:
            raise RequestError(503, None, f"{self.name}: no model loaded: {self.load_error}")
        return routing


class _Served(NamedTuple):
    """What a prediction request was answered with, kept for the work after the reply: metrics and the log."""

    model: _Model
    routing: Routing
    groups: Groups
    route: str
    ids: list[str]
    rows: list[dict[str, Any]]
    scores: list[float]
    versions: list[str]
    latency_ms: float


class _Reply(NamedTuple):
    status: int
    body: bytes
    version: str | None  # the model version this reply speaks for, sent as x-model-version
    content_type: bytes = JSON
    after: Callable[[], Awaitable[None]] | None = None  # work that waits until the reply is sent


Handler = Callable[[Scope, Receive], Awaitable[_Reply]]


def create_app(
    models: Sequence[ModelEndpoint],
    *,
    admin_token: str | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch_rows: int = MAX_BATCH_ROWS,
) -> PredictionApp:
    """The ASGI app for ``models``; each loads its champion at startup and logs its predictions in its own folder."""
    return PredictionApp(models, admin_token=admin_token, max_body_bytes=max_body_bytes, max_batch_rows=max_batch_rows)


def model_prefix(name: str) -> str:
    """Where a model's routes live: `/models/<name>`."""
    return f"/models/{name}"


class PredictionApp:
    """ASGI app serving swappable champions, each with an optional canary and shadow.

    Routes per model, under `/models/<name>` (and at the root when one model is served):
    POST /predict, POST /predict/batch, GET /version, /ready, and with a bearer token POST
    /admin/reload, /admin/rollback, POST|DELETE /admin/canary and /admin/shadow. Shared:
    GET /health, /ready (every model loaded), /metrics, /models. Errors are
    ``{"error": {"status", "field", "message"}}``.
    """

    def __init__(
        self,
        models: Sequence[ModelEndpoint],
        *,
        admin_token: str | None,
        max_body_bytes: int,
        max_batch_rows: int,
    ) -> None:
        names = [m.name for m in models]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"serve at least one model, each name once; got {names}")
        self._admin_token = admin_token.encode() if admin_token is not None else None
        self._max_body_bytes = max_body_bytes
        self._max_batch_rows = max_batch_rows
        self._models = [_Model(m) for m in models]
        self.metrics = ServingMetrics()
        self._route_models: dict[tuple[str, str], _Model] = {}  # an error on a model's route names its version
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", "/health"): self._health,
            ("GET", "/ready"): self._ready,
            ("GET", "/metrics"): self._metrics,
            ("GET", "/models"): self._list_models,
        }
        for model in self._models:
            self._mount(model_prefix(model.name), model)
        if len(self._models) == 1:  # a single-model deployment answers at the root too
            self._mount("", self._models[0])
        self._paths = {path for _, path in self._routes}

    def _mount(self, prefix: str, model: _Model) -> None:
        handlers: dict[tuple[str, str], Callable[[_Model, Scope, Receive], Awaitable[_Reply]]] = {
            ("POST", "/predict"): self._predict_one,
            ("POST", "/predict/batch"): self._predict_batch,
            ("GET", "/version"): self._version,
            ("POST", "/admin/reload"): self._reload,
            ("POST", "/admin/rollback"): self._rollback,
            ("POST", "/admin/canary"): self._start_canary,
            ("DELETE", "/admin/canary"): self._end_canary,
            ("POST", "/admin/shadow"): self._start_shadow,
            ("DELETE", "/admin/shadow"): self._end_shadow,
        }
        for (method, path), handler in handlers.items():
            self._routes[method, prefix + path] = functools.partial(handler, model)
            self._route_models[method, prefix + path] = model
        if prefix:
            self._routes["GET", prefix + "/ready"] = functools.partial(self._ready_one, model)

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
            reply = self._error(exc, self._version_of(scope["method"], path))
        except Exception:  # a bug: answer 500 in the usual shape and keep serving
            reply = self._error(internal_error("internal error", f"unhandled error on {scope['method']} {path}"), self._version_of(scope["method"], path))
        headers = [(b"content-type", reply.content_type), (b"content-length", str(len(reply.body)).encode())]
        if reply.version is not None:
            headers.append((b"x-model-version", reply.version.encode()))
        elapsed = time.perf_counter() - started
        try:
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": reply.body})
        finally:  # counted after the reply leaves, so counting never delays it
            self.metrics.observe(route, reply.status, elapsed)
        if reply.after is not None:
            try:
                await reply.after()
            except Exception:  # the client has its answer; only the log can say what went wrong
                logger.exception("post-response work on %s failed", path)

    def _version_of(self, method: str, path: str) -> str | None:
        """The champion version of the model whose route this is (None for shared routes)."""
        model = self._route_models.get((method, path))
        return model.current_version() if model is not None else None

    # --- lifecycle ---------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for model in self._models:
                    model.log = PredictionLogWriter(model.log_folder, fsync=model.log_fsync)
                    model.shadow_pool = ThreadPoolExecutor(SHADOW_THREADS, thread_name_prefix=f"shadow-{model.name}")
                await asyncio.gather(*(self._load_at_startup(model) for model in self._models))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for model in self._models:
                    if model.shadow_pool is not None:
                        await asyncio.to_thread(model.shadow_pool.shutdown)
                    if model.log is not None:
                        await asyncio.to_thread(model.log.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _load_at_startup(self, model: _Model) -> None:
        """Load the champion; a failure leaves the model up but not ready, so /ready can say why."""
        try:
            scorer = await asyncio.to_thread(model.loader, None)
        except (ModelNotFoundError, LookupError) as exc:  # our own words (no champion yet): safe and useful to say
            model.load_error = f"could not load the champion of {model.name}: {exc}"
            logger.error("%s; its /predict answers 503 until POST /admin/reload succeeds", model.load_error)
            return
        except Exception:  # anything else may hold paths, URLs or secrets: an error id, the traceback in the log
            error_id = uuid.uuid4().hex[:12]
            model.load_error = f"could not load the champion of {model.name} (error id {error_id}; the server's log has the details)"
            logger.exception("could not load the champion of %s [error id %s]; its /predict answers 503 until POST /admin/reload succeeds",
                             model.name, error_id)  # fmt: skip
            return
        self._install(model, scorer)

    def _install(self, model: _Model, champion: Scorer) -> None:
        if model.routing is None:
            self._route(model, Routing(champion, model.sticky_keys))
            return
        routing, ended = model.routing.with_champion(champion)
        for sentence in ended:
            logger.warning("%s: %s", model.name, sentence)
        self._route(model, routing)

    def _route(self, model: _Model, routing: Routing) -> None:
        model.routing = routing  # the one atomic swap: readers see the old or the new routing, never a mix
        canary = routing.canary
        self.metrics.set_model(
            model.name,
            routing.champion.version,
            canary=None if canary is None else (canary.version, routing.percent),
            shadow=None if routing.shadow is None else routing.shadow.version,
        )

    # --- prediction --------------------------------------------------------------------------

    async def _predict_one(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        return await self._predict(model, scope, receive, batch=False)

    async def _predict_batch(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        return await self._predict(model, scope, receive, batch=True)

    async def _predict(self, model: _Model, scope: Scope, receive: Receive, *, batch: bool) -> _Reply:
        started = time.perf_counter()
        routing, log = model.serving(), model.log  # read once: this request uses these versions throughout
        if log is None:
            raise RequestError(503, None, "the server has not started")
        champion = routing.champion
        try:
            require_json(_header(scope, b"content-type"))
            body = await self._read_body(scope, receive, self._max_body_bytes)
            rows = parse_rows(body, champion.fields, batch=batch, max_rows=self._max_batch_rows, reject_unknown=model.reject_unknown)
        except RequestError as exc:
            return self._error(exc, champion.version)
        ids = [row.pop(REQUEST_ID) for row in rows]
        groups = routing.assign(rows, ids)
        label = groups[0][0].version if len(groups) == 1 else ",".join(s.version for s, _ in groups)
        try:
            scores = await _score(groups, rows, None)
        except UnknownEntityError as exc:
            return self._error(RequestError(404, exc.field, str(exc)), label)
        except Exception:  # labelled with the versions this request used, not whatever is current by now
            return self._error(internal_error("scoring failed", f"{model.name} v{label} failed to score {len(rows)} rows"), label)
        versions = [label] * len(rows) if len(groups) == 1 else _versions_by_row(groups, len(rows))
        latency_ms = (time.perf_counter() - started) * 1000.0
        if batch:
            doc: dict[str, Any] = {
                "predictions": [
                    {"request_id": i, "score": s, "model_version": v} for i, s, v in zip(ids, scores, versions)
                ]
            }
        else:
            doc = {"request_id": ids[0], "score": scores[0]}
        doc["model_name"] = model.name
        doc["model_version"] = label
        served = _Served(model, routing, groups, scope["path"], ids, rows, scores, versions, latency_ms)
        records = self._records(served)
        try:  # before the reply: a prediction the client receives is in the log even if this process is killed next
            segment = log.write_ahead(records)
        except Exception:
            return self._error(internal_error("could not log the prediction", f"{model.name}: prediction log write-ahead failed"), label)
        return _Reply(200, orjson.dumps(doc), label, after=functools.partial(self._record, served, records, log, segment))

    def _records(self, served: _Served) -> list[dict[str, Any]]:
        """The log records of a served request, personal fields hashed; the shadow's score is filled in after the reply."""
        model, shadow, hide = served.model, served.routing.shadow, served.routing.hide_personal
        ts = datetime.now(UTC)
        return [
            {
                "request_id": request_id,
                "ts": ts,
                "model_name": model.name,
                "model_version": version,
                "route": served.route,
                "inputs": orjson.dumps(hide(row)).decode(),
                "score": score,
                "latency_ms": served.latency_ms,
                "shadow_version": None if shadow is None else shadow.version,
                "shadow_score": None,
            }
            for request_id, row, score, version in zip(served.ids, served.rows, served.scores, served.versions)
        ]

    async def _record(self, served: _Served, records: list[dict[str, Any]], log: PredictionLogWriter, segment: Any) -> None:
        """Count a served request and queue its records for parquet once its answer has left.

        With a shadow, the records are queued once the shadow has scored too, so one record
        holds both scores (the write-ahead copy, made before the reply, has the champion's only).
        """
        model = served.model
        for scorer, idx in served.groups:
            self.metrics.count_predictions(model.name, scorer.version, len(served.rows) if idx is None else len(idx))
        if served.routing.shadow is not None:
            await self._shadow(model, served.routing.shadow, served.rows, records)
        log.queue(records, segment)

    async def _shadow(self, model: _Model, shadow: Scorer, rows: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
        """Score the rows with the shadow and put its scores in the records, unless it is too far behind."""
        outcome = "skipped"
        if model.shadow_backlog < MAX_SHADOW_BACKLOG and model.shadow_pool is not None:
            model.shadow_backlog += 1
            alone: Groups = [(shadow, None)]
            try:
                scores = await _score(alone, rows, model.shadow_pool)
            except Exception:
                outcome = "failed"
                if shadow.version not in model.shadow_failures_logged:
                    model.shadow_failures_logged.add(shadow.version)
                    logger.exception("shadow version %s failed to score (logged once; see mlops_shadow_predictions_total)", shadow.version)
            else:
                outcome = "scored"
                for record, score in zip(records, scores):
                    record["shadow_score"] = score
            finally:
                model.shadow_backlog -= 1
        self.metrics.count_shadow(model.name, shadow.version, outcome, len(rows))

    # --- probes ------------------------------------------------------------------------------

    async def _health(self, scope: Scope, receive: Receive) -> _Reply:
        return _Reply(200, b'{"status":"ok"}', None)

    async def _ready(self, scope: Scope, receive: Receive) -> _Reply:
        """200 once every model has a champion loaded; 503 naming the ones that have not and why."""
        waiting = [f"{m.name}: {m.load_error}" for m in self._models if m.routing is None]
        if waiting:
            raise RequestError(503, None, "not ready: " + "; ".join(waiting))
        versions = {m.name: m.current_version() for m in self._models}
        body: dict[str, Any] = {"status": "ready", "models": versions}
        if len(self._models) == 1:
            body |= {"model_name": self._models[0].name, "model_version": self._models[0].current_version()}
        return _Reply(200, orjson.dumps(body), self._models[0].current_version() if len(self._models) == 1 else None)

    async def _ready_one(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        if model.routing is None:
            raise RequestError(503, None, f"not ready: {model.load_error}")
        body = {"status": "ready", "model_name": model.name, "model_version": model.current_version()}
        return _Reply(200, orjson.dumps(body), model.current_version())

    async def _list_models(self, scope: Scope, receive: Receive) -> _Reply:
        """Every model this server answers for, with its routes and the versions in service."""
        doc = {
            m.name: {"url": model_prefix(m.name), "fields": [_describe(spec) for spec in m.routing.champion.fields], **m.routing.state()}
            if m.routing is not None else {"url": model_prefix(m.name), "model_version": None, "error": m.load_error}
            for m in self._models
        }  # fmt: skip
        return _Reply(200, orjson.dumps({"models": doc}), None)

    async def _version(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        routing = model.serving()
        return _Reply(200, orjson.dumps(routing.state()), routing.champion.version)

    async def _metrics(self, scope: Scope, receive: Receive) -> _Reply:
        return _Reply(200, self.metrics.render().encode(), None, METRICS_CONTENT_TYPE.encode())

    # --- admin -------------------------------------------------------------------------------

    async def _reload(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        """Serve a given version, or the registry's current champion when the body names none."""
        self._authorize(scope)
        doc = _admin_doc(await self._read_body(scope, receive, MAX_ADMIN_BODY_BYTES), VERSION_ONLY)
        return await self._swap_champion(model, _optional_version(doc))

    async def _rollback(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        """Serve the given version, or follow the registry's champion alias, which ``mlops rollback`` has just moved back."""
        self._authorize(scope)
        doc = _admin_doc(await self._read_body(scope, receive, MAX_ADMIN_BODY_BYTES), VERSION_ONLY)
        return await self._swap_champion(model, _optional_version(doc))

    async def _swap_champion(self, model: _Model, version: str | None) -> _Reply:
        """Load on a worker thread, then swap in; the old version keeps serving if the load fails."""
        async with model.admin_lock:
            previous = model.current_version()
            scorer = await self._load(model, version)
            self._install(model, scorer)
        body = {"model_name": model.name, "model_version": scorer.version, "previous": previous}
        return _Reply(200, orjson.dumps(body), scorer.version)

    async def _start_canary(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        """Send ``percent``% of callers to ``version`` (0 ends the canary); a new percent keeps the loaded model."""
        self._authorize(scope)
        doc = _admin_doc(await self._read_body(scope, receive, MAX_ADMIN_BODY_BYTES), CANARY_FIELDS)
        percent = _percent_of(doc)
        if percent == 0:
            return await self._change(model, _without_canary)
        version = _required_version(doc)

        async def change(routing: Routing) -> Routing:
            if routing.canary is not None and routing.canary.version == version:
                return routing.with_canary(routing.canary, percent)
            return routing.with_canary(await self._challenger(model, routing, version), percent)

        return await self._change(model, change)

    async def _end_canary(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        self._authorize(scope)
        return await self._change(model, _without_canary)

    async def _start_shadow(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        """Have ``version`` score every request too, for the log only; the champion still answers."""
        self._authorize(scope)
        version = _required_version(_admin_doc(await self._read_body(scope, receive, MAX_ADMIN_BODY_BYTES), VERSION_ONLY))

        async def change(routing: Routing) -> Routing:
            if routing.shadow is not None and routing.shadow.version == version:
                return routing
            return routing.with_shadow(await self._challenger(model, routing, version))

        return await self._change(model, change)

    async def _end_shadow(self, model: _Model, scope: Scope, receive: Receive) -> _Reply:
        self._authorize(scope)
        return await self._change(model, _without_shadow)

    async def _change(self, model: _Model, change: Callable[[Routing], Awaitable[Routing]]) -> _Reply:
        """Apply one change to the routing under the admin lock; the reply is the new state, as /version shows it."""
        async with model.admin_lock:
            routing = await change(model.serving())
            self._route(model, routing)
        return _Reply(200, orjson.dumps(routing.state()), routing.champion.version)

    async def _challenger(self, model: _Model, routing: Routing, version: str) -> Scorer:
        """A version to compare with the champion: loaded, distinct from it, and able to take its requests."""
        if version == routing.champion.version:
            raise RequestError(409, "version", f"version {version} is the champion already")
        scorer = await self._load(model, version)
        if (reason := incompatibility(routing.champion, scorer)) is not None:
            raise RequestError(409, "version", reason)
        return scorer

    async def _load(self, model: _Model, version: str | None) -> Scorer:
        """``loader(version)`` off the event loop; a failure is a 500 that says the old versions still serve."""
        try:
            return await asyncio.to_thread(model.loader, version)
        except ModelNotFoundError:  # its text may name the registry's URL: say it in our words
            kept = _kept(model)
            if version is None:
                raise RequestError(404, None, f"{model.name} has no champion in its registry; {kept}") from None
            raise RequestError(404, "version", f"{model.name} has no version {version} in its registry; {kept}") from None
        except Exception:
            what = f"version {version}" if version is not None else "the current champion"
            kept = _kept(model)
            error = internal_error(f"could not load {what}", f"{model.name}: loading {what} failed", field="version" if version is not None else None)
            raise RequestError(error.status, error.field, f"{error.message}; {kept}") from None

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


def _describe(spec: FieldSpec) -> dict[str, Any]:
    """A request field as `GET /models` lists it: name, JSON kind and the values it may take."""
    return {k: v for k, v in asdict(spec).items() if v is not None and v is not False}


def _versions_by_row(groups: Groups, n: int) -> list[str]:
    """Each row's version when a canary split the rows (every group then lists its rows)."""
    versions = [""] * n
    for scorer, idx in groups:
        for i in idx or ():
            versions[i] = scorer.version
    return versions


async def _without_canary(routing: Routing) -> Routing:
    return routing.with_canary(None, 0.0)


async def _without_shadow(routing: Routing) -> Routing:
    return routing.with_shadow(None)


def _kept(model: _Model) -> str:
    previous = model.current_version()
    return f"still serving version {previous}" if previous is not None else "still no model loaded"


def _admin_doc(body: bytes, allowed: frozenset[str]) -> dict[str, Any]:
    """An admin route's optional JSON object body, holding only ``allowed`` keys; no body is an empty object."""
    if not body.strip():
        return {}
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, None, f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RequestError(400, None, 'body must be a JSON object like {"version": "3"}')
    refuse_unknown(doc, allowed, taker="this route")
    return doc


def _optional_version(doc: dict[str, Any]) -> str | None:
    """The ``version`` field, or None (the current champion) when it is omitted."""
    if doc.get("version") is None:
        return None
    return _required_version(doc, hint=", or omitted for the champion")


def _required_version(doc: dict[str, Any], hint: str = "") -> str:
    version = doc.get("version")
    if not isinstance(version, str) or not version:
        raise RequestError(422, "version", f'version must be a non-empty string like "3"{hint}')
    return version


def _percent_of(doc: dict[str, Any]) -> float:
    percent = doc.get("percent")
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise RequestError(422, "percent", f"percent must be a number from 0 to 100 (0 ends the canary), got {percent!r}")
    return percent


async def _score(groups: Groups, rows: list[dict[str, Any]], pool: ThreadPoolExecutor | None) -> list[float]:
    """Score on ``pool`` (None: the loop's default executor), or on the event loop itself when that is cheaper.

    A single row for scorers marked ``inline`` costs less than the hop to a thread and back
    (measured with `mlops serve`: 3,500 vs 2,500 req/s; a shadow's cost +0.07 vs +0.30 ms).
    """
    if len(rows) <= INLINE_ROWS and all(getattr(scorer, "inline", False) for scorer, _ in groups):
        return score_groups(groups, rows)
    return await asyncio.get_running_loop().run_in_executor(pool, score_groups, groups, rows)


def internal_error(what: str, log_message: str, field: str | None = None) -> RequestError:
    """A 500 that names an error id and never the exception: its text can hold paths, data or secrets.

    Call it inside an ``except`` block: the traceback goes to the server's log under the same id.
    """
    error_id = uuid.uuid4().hex[:12]
    logger.exception("%s [error id %s]", log_message, error_id)
    return RequestError(500, field, f"{what} (error id {error_id}; the server's log has the details)")


def require_json(content_type: bytes | None) -> None:
    """415 unless the body is declared JSON (``application/json`` or ``application/<x>+json``, any parameters)."""
    media = (content_type or b"").split(b";", 1)[0].strip().lower()
    if media != b"application/json" and not (media.startswith(b"application/") and media.endswith(b"+json")):
        got = content_type.decode("latin-1") if content_type else "none"
        raise RequestError(415, None, f"Content-Type must be application/json, got {got}")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None
