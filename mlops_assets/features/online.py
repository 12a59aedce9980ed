"""A feature service's online features read straight from the online store, for the server's hot path.

``FeatureStore.get_online_features`` resolves the service in the registry, builds protobuf
responses and runs on-demand views through pandas on every call: 2.6 ms for one request on
the SQLite store, more than the rest of a prediction. This reader resolves the service once,
then per request builds the entity keys, reads each feature view's rows and runs each
on-demand view through its columnar twin, the same function the view wraps.

The rows come from the store's own ``online_read`` (Redis, Postgres: the read Feast itself
would do), except on SQLite, where one statement over every view on a read-only connection
skips the timestamp parsing and sorting Feast's reader does (see ``_SqliteFetch``). Both paths use Feast's own key
serialization and table naming; ``tests/integration/test_online_reader.py`` holds them equal
to ``get_online_features`` on SQLite and Redis.
"""

from __future__ import annotations

import functools
import importlib
import sqlite3
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops_assets.errors import ConfigurationError, UnknownEntityError
from mlops_assets.features.sqlite_snapshot import ReadSnapshot

ColumnTransform = Callable[[Mapping[str, Any]], Mapping[str, Sequence[Any]]]
"""An on-demand view's transformation on columns instead of a DataFrame (see ``encode_columns``)."""

MMAP_BYTES = 1 << 30
"""Address space the SQLite reader maps (not memory it takes): pages the OS caches anyway, read without a system call."""

MAX_DECODED_VALUES = 100_000
"""Distinct stored feature values the SQLite reader keeps decoded: about 12 MB when full (measured for doubles)."""

_MISSING = object()
_NOTHING: Mapping[str, Any] = {}  # the stored features of an entity the store lacks

COLUMNAR_TAG = "mlops/columnar_transform"
"""On-demand view tag naming its columnar twin as ``module:function``, declared beside the view."""

# Entity key value type -> the ValueProto field that carries it: the types Feast can serialize as a key.
_KEY_FIELDS = {
    "INT64": "int64_val",
    "INT32": "int32_val",
    "STRING": "string_val",
    "BYTES": "bytes_val",
}


@dataclass(frozen=True)
class _ViewRead:
    """One feature view of the service: where its keys come from in a request and which features to read."""

    view: Any  # feast.FeatureView
    keys: tuple[tuple[str, str, str], ...]  # (join key in the store, field in the request, ValueProto field)
    features: tuple[str, ...]


@dataclass(frozen=True)
class _Transform:
    """One on-demand view of the service: its columnar function and the features the service takes from it."""

    run: ColumnTransform
    features: tuple[str, ...]
    inputs: tuple[str, ...]  # the columns the view declares as its sources: request fields and stored features


class OnlineFeatureReader:
    """Reads ``service``'s features for validated request rows; thread-safe.

    An on-demand view tagged ``COLUMNAR_TAG`` runs through the function the tag names; one
    without the tag runs its own pandas function (the same result, about 1 ms slower). ``required_keys`` are request
    fields whose entity must be in the store: an unknown one raises ``UnknownEntityError``;
    for the others, missing features are NaN, as in training.
    """

    def __init__(
        self,
        store: Any,
        service: str,
        *,
        required_keys: Sequence[str] = (),
    ) -> None:
        from feast.infra.online_stores.sqlite import SqliteOnlineStore

        feature_service = store.get_feature_service(service)
        views = {view.name: view for view in store.list_feature_views()}
        on_demand = {view.name: view for view in store.list_on_demand_feature_views()}
        self._reads: list[_ViewRead] = []
        self._transforms: list[_Transform] = []
        for projection in feature_service.feature_view_projections:
            wanted = tuple(f.name for f in projection.features)
            if projection.name in views:
                view = views[projection.name]
                keys = tuple(
                    (c.name, projection.join_key_map.get(c.name, c.name), _key_field(c.name, c.dtype.to_value_type().name))
                    for c in view.entity_columns
                )
                self._reads.append(_ViewRead(view, keys, wanted))
            elif projection.name in on_demand:
                view = on_demand[projection.name]
                self._transforms.append(_Transform(_transform_of(view), wanted, _inputs_of(view)))
            else:
                raise ConfigurationError(f"feature service {service!r} names {projection.name!r}, which is not in the registry: run `feast apply` (the feature_views asset)")
        self.features: tuple[str, ...] = tuple(name for part in (*self._reads, *self._transforms) for name in part.features)
        online = store._get_provider().online_store  # Feast has no public handle on the store's reader
        self.local = isinstance(online, SqliteOnlineStore)  # reads a file on this machine, never the network
        self._fetch: Callable[[Sequence[Mapping[str, Any]]], list[Fetched]] = (
            _SqliteFetch if self.local else _StoreFetch
        )(store.config, online, self._reads)
        self._required = [  # per view, the request fields naming entities it must hold
            [field for _, field, _ in read.keys if field in required_keys and read.features] for read in self._reads
        ]

    def read(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Every feature of the service as a float column over ``rows`` (None and missing become NaN)."""
        return {name: np.asarray(column, dtype="float64") for name, column in self._columns(rows).items()}

    def matrix(self, rows: Sequence[Mapping[str, Any]], features: Sequence[str]) -> np.ndarray:
        """``features`` as a float matrix, one row per request row: what a model takes, built in one step."""
        columns = self._columns(rows)
        return np.ascontiguousarray(np.array([columns[name] for name in features], dtype="float64").T)

    def values(self, row: Mapping[str, Any], features: Sequence[str]) -> list[Any]:
        """``features`` for one request row, as Python numbers (None when missing): a model's single-row input.

        ``_columns`` for one row, without its columns: on one row, building and transposing
        them costs more than the lookups (the endpoint's hot path; tests hold the two equal).
        """
        out: dict[str, Any] = {}
        for read, required, found in zip(self._reads, self._required, self._fetch((row,))):
            _require_known(required, (row,), found)
            stored = found[0] or _NOTHING
            for name in read.features:
                out[name] = stored.get(name)
        if self._transforms:
            for name, column in self._derive(lambda name: (out[name],) if name in out else (row[name],)).items():
                out[name] = column[0]
        return [out[name] for name in features]

    def _columns(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Sequence[Any]]:
        """Each feature over ``rows``: stored features as Python values (None when missing), derived ones as their view returns them.

        Built row by row and transposed once: one comprehension per row, not one per feature.
        """
        out: dict[str, Sequence[Any]] = {}
        for read, required, found in zip(self._reads, self._required, self._fetch(rows)):
            _require_known(required, rows, found)
            missing = [None] * len(read.features)
            table = [missing if values is None else [values.get(name) for name in read.features] for values in found]
            out.update(zip(read.features, _transpose(table, len(read.features))))
        if self._transforms and rows:
            out.update(self._derive(lambda name: out[name] if name in out else [row[name] for row in rows]))
        return out

    def _derive(self, column: Callable[[str], Sequence[Any]]) -> dict[str, Sequence[Any]]:
        """The on-demand views' features, as columns; ``column(name)`` gives each input the views declare.

        A stored feature wins over a request field of the same name. Only declared inputs are
        built: on one row, wrapping every request field and stored feature as a column cost
        more than the encoder takes to run (in the running server, 3.7 -> 1.8 us from fetch to encoder).
        """
        derived: dict[str, Sequence[Any]] = {}
        for transform in self._transforms:
            result = transform.run({name: column(name) for name in transform.inputs})
            for name in transform.features:
                derived[name] = result[name]
        return derived


def _require_known(fields: Sequence[str], rows: Sequence[Mapping[str, Any]], found: Fetched) -> None:
    """Raise ``UnknownEntityError`` for the first row whose entity, keyed by one of ``fields``, the store lacks."""
    for field in fields:
        for row, values in zip(rows, found):
            if values is None:
                raise UnknownEntityError(field, row[field])


def _transpose(table: list[list[Any]], width: int) -> list[tuple[Any, ...]]:
    """Rows of ``width`` values as ``width`` columns (empty columns for no rows)."""
    return list(zip(*table)) if table else [()] * width


Fetched = list[dict[str, Any] | None]
"""Per request row, its entity's stored features as Python values, or None when the store has no such entity."""


class _StoreFetch:
    """Each view's rows through the online store's own ``online_read``: thread-safe where the store's client is (Redis, Postgres)."""

    def __init__(self, config: Any, online: Any, reads: Sequence[_ViewRead]) -> None:
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        self._config, self._online, self._reads = config, online, reads
        self._entity_key, self._value = EntityKey, Value

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> list[Fetched]:
        return [self._read(read, rows) for read in self._reads]

    def _read(self, read: _ViewRead, rows: Sequence[Mapping[str, Any]]) -> Fetched:
        join_keys = [join for join, _, _ in read.keys]
        entity_keys = [
            self._entity_key(join_keys=join_keys, entity_values=[self._value(**{kind: row[field]}) for _, field, kind in read.keys])
            for row in rows
        ]
        found = self._online.online_read(self._config, read.view, entity_keys, list(read.features))
        return [None if values is None else {name: _python(value) for name, value in values.items()} for _, values in found]


class _SqliteFetch:
    """Every view's rows straight from Feast's SQLite tables in one statement, on a read-only memory-mapped connection.

    One ``UNION ALL`` over the views is one statement instead of one per view, memory mapping
    turns page reads into memory reads (measured for the credit service's two views: 36 us as
    two queries, 15 us as one on the mapped file), and the statements share short read
    transactions (``ReadSnapshot``) instead of locking the file each. Materialization writes
    through Feast's own connection meanwhile; SQLite serializes the two: a commit waits for the
    open snapshot to end (at most ``DEFAULT_MAX_AGE_S``) and a read waits (up to the 5 s busy
    timeout) while a write commits. Linux's unified page cache keeps the mapping coherent with
    those writes, and Feast never shrinks the file under the mapping.
    """

    def __init__(self, config: Any, online: Any, reads: Sequence[_ViewRead]) -> None:
        from feast.infra.key_encoding_utils import serialize_entity_key
        from feast.infra.online_stores.sqlite import _table_id
        from feast.protos.feast.types.Value_pb2 import Value

        path = Path(online._get_db_path(config)).resolve()
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        self._snapshot = ReadSnapshot(connection)
        self._value = Value
        serialize = functools.partial(serialize_entity_key, entity_key_serialization_version=config.entity_key_serialization_version)
        table_id = functools.partial(_table_id, config.project, enable_versioning=config.registry.enable_online_feature_view_versioning)
        self._encoders = [entity_key_encoder(read.view.name, read.keys, serialize) for read in reads]
        self._selects = [  # the view's position tags its rows in the union
            f'SELECT {i}, entity_key, feature_name, value FROM "' + table_id(read.view).replace('"', '""') + '" WHERE entity_key IN '
            for i, read in enumerate(reads)
        ]
        self._one_row = self._query(1)  # most requests
        self._decoded: dict[bytes, Any] = {}  # stored value bytes -> Python value: values repeat, and decoding is pure

    def _query(self, n_rows: int) -> str:
        marks = f"({','.join('?' * n_rows)})"
        return " UNION ALL ".join(select + marks for select in self._selects)

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> list[Fetched]:
        keys = [[encode(row) for row in rows] for encode in self._encoders]
        query = self._one_row if len(rows) == 1 else self._query(len(rows))
        stored = self._snapshot.fetchall(query, [key for view_keys in keys for key in view_keys])
        by_key: list[dict[bytes, dict[str, Any]]] = [{} for _ in self._selects]
        decoded = self._decoded
        for i, key, name, blob in stored:
            value = decoded.get(blob, _MISSING)
            if value is _MISSING:
                value = self._decode(blob)
            by_key[i].setdefault(key, {})[name] = value
        return [[found.get(key) for key in view_keys] for found, view_keys in zip(by_key, keys)]

    def _decode(self, blob: bytes) -> Any:
        if len(self._decoded) >= MAX_DECODED_VALUES:
            self._decoded.clear()  # many distinct values (amounts, say): start over rather than grow
        message = self._value()
        message.ParseFromString(blob)
        value = self._decoded[blob] = _python(message)
        return value


def entity_key_encoder(view: str, keys: Sequence[tuple[str, str, str]], serialize: Callable[[Any], bytes]) -> Callable[[Mapping[str, Any]], bytes]:
    """Feast's entity key bytes for a request row, built without protobuf objects; checked against Feast once.

    ``keys`` are (join key, request field, ValueProto field) and ``serialize`` is Feast's
    ``serialize_entity_key``. It needs an EntityKey message per row (10 us a request for
    two views); the bytes are a fixed header of join key names and each value packed by
    type, so the header is built once. A probe key must come out equal to Feast's own, or
    this raises: a Feast upgrade cannot make the reader silently miss rows.
    """
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value, ValueType

    ordered = sorted(keys)  # Feast sorts by join key
    header = struct.pack("<I", len(ordered)) + b"".join(
        struct.pack("<II", ValueType.STRING, len(join.encode())) + join.encode() for join, _, _ in ordered
    )
    packers = [(field, _key_packer(kind, ValueType)) for _, field, kind in ordered]
    if len(packers) == 1:  # most views have one entity: no loop per request
        [(field, pack)] = packers

        def encode(row: Mapping[str, Any]) -> bytes:
            return header + pack(row[field])

    else:

        def encode(row: Mapping[str, Any]) -> bytes:
            return header + b"".join(pack(row[field]) for field, pack in packers)

    probe = {field: _KEY_PROBES[kind] for _, field, kind in ordered}
    feast_key = serialize(
        EntityKey(join_keys=[join for join, _, _ in ordered], entity_values=[Value(**{kind: probe[field]}) for _, field, kind in ordered])
    )
    if encode(probe) != feast_key:
        raise ConfigurationError(
            f"feature view {view!r}: this Feast version serializes entity keys differently from "
            "mlops_assets.features.online.entity_key_encoder: update it (tests/unit/test_entity_keys.py shows the gap)"
        )
    return encode


_KEY_PROBES = {"int64_val": -(2**40) - 3, "int32_val": -7, "string_val": "é_probe", "bytes_val": b"\x00probe"}


def _key_packer(kind: str, value_type: Any) -> Callable[[Any], bytes]:
    """One entity value as Feast lays it out in a version-3 key: type, length, little-endian bytes."""
    if kind == "int64_val":
        return functools.partial(struct.pack, "<IIq", value_type.INT64, 8)
    if kind == "int32_val":
        return functools.partial(struct.pack, "<IIi", value_type.INT32, 4)
    type_code = value_type.STRING if kind == "string_val" else value_type.BYTES

    def pack(value: Any) -> bytes:
        data = value.encode() if kind == "string_val" else value
        return struct.pack("<II", type_code, len(data)) + data

    return pack


def _key_field(name: str, value_type: str) -> str:
    try:
        return _KEY_FIELDS[value_type]
    except KeyError:
        raise ConfigurationError(f"entity key {name!r} has type {value_type}; the online reader handles {', '.join(_KEY_FIELDS)}") from None


def _transform_of(view: Any) -> ColumnTransform:
    target = view.tags.get(COLUMNAR_TAG)
    if target:
        module, _, function = target.partition(":")
        try:
            return getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(f"on-demand view {view.name!r}: tag {COLUMNAR_TAG}={target!r} names no importable function ({exc})") from exc
    if view.mode != "pandas":
        raise ConfigurationError(f"on-demand view {view.name!r} runs in mode {view.mode!r}: give the online reader a columnar transform for it")
    udf = view.feature_transformation.udf

    def run(inputs: Mapping[str, Any]) -> Mapping[str, Sequence[Any]]:
        frame = udf(pd.DataFrame(dict(inputs)))
        return {name: frame[name].to_numpy() for name in frame.columns}

    return run


def _inputs_of(view: Any) -> tuple[str, ...]:
    """The columns an on-demand view declares as sources: its request sources' fields and its feature views' features."""
    names = [field.name for source in view.source_request_sources.values() for field in source.schema]
    names += [feature.name for projection in view.source_feature_view_projections.values() for feature in projection.features]
    return tuple(dict.fromkeys(names))


def _python(value: Any) -> Any:
    """A stored ValueProto as a Python scalar; None for a null value."""
    kind = value.WhichOneof("val")
    return None if kind is None or kind == "null_val" else getattr(value, kind)
