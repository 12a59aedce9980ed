"""A feature service's online features read straight from the online store, for the server's hot path.

``FeatureStore.get_online_features`` resolves the service in the registry, builds protobuf
responses and runs on-demand views through pandas on every call: 2.6 ms for one request on
the SQLite store, more than the rest of a prediction. This reader resolves the service once,
then per request builds the entity keys, reads each feature view's rows and runs each
on-demand view through its columnar twin, the same function the view wraps.

The stored rows come through ``online_fetch`` (Feast's own read, or one SQLite statement);
``tests/integration/test_online_reader.py`` holds the reader equal to ``get_online_features``
on SQLite and Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops_assets.errors import ConfigurationError, UnknownEntityError
from mlops_assets.features.columnar import ColumnTransform, inputs_of, transform_of
from mlops_assets.features.entity_keys import key_field
from mlops_assets.features.online_fetch import Fetched, SqliteFetch, StoreFetch, ViewRead

_NOTHING: Mapping[str, Any] = {}  # the stored features of an entity the store lacks


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
        self._reads: list[ViewRead] = []
        self._transforms: list[_Transform] = []
        for projection in feature_service.feature_view_projections:
            wanted = tuple(f.name for f in projection.features)
            if projection.name in views:
                view = views[projection.name]
                keys = tuple(
                    (c.name, projection.join_key_map.get(c.name, c.name), key_field(c.name, c.dtype.to_value_type().name))
                    for c in view.entity_columns
                )
                self._reads.append(ViewRead(view, keys, wanted))
            elif projection.name in on_demand:
                view = on_demand[projection.name]
                self._transforms.append(_Transform(transform_of(view), wanted, inputs_of(view)))
            else:
                raise ConfigurationError(f"feature service {service!r} names {projection.name!r}, which is not in the registry: run `feast apply` (the feature_views asset)")
        self.features: tuple[str, ...] = tuple(name for part in (*self._reads, *self._transforms) for name in part.features)
        online = store._get_provider().online_store  # Feast has no public handle on the store's reader
        self.local = isinstance(online, SqliteOnlineStore)  # reads a file on this machine, never the network
        self._fetch: Callable[[Sequence[Mapping[str, Any]]], list[Fetched]] = (
            SqliteFetch if self.local else StoreFetch
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
        built: on one row, wrapping every request field and stored feature as a column costs
        more than the encoder takes to run (about 2 us in the running server, docs/decisions/0006).
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


