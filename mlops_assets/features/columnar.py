"""On-demand views as the server runs them: on columns of request values, without a DataFrame.

An on-demand view tagged ``COLUMNAR_TAG`` names its columnar twin (``module:function``, the
same function the view wraps); a view without the tag runs its own pandas function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from mlops_assets.errors import ConfigurationError

ColumnTransform = Callable[[Mapping[str, Any]], Mapping[str, Sequence[Any]]]
"""An on-demand view's transformation on columns instead of a DataFrame (see ``domains/credit/encoding.py``)."""

COLUMNAR_TAG = "mlops/columnar_transform"
"""On-demand view tag naming its columnar twin as ``module:function``, declared beside the view."""


def transform_of(view: Any) -> ColumnTransform:
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


def inputs_of(view: Any) -> tuple[str, ...]:
    """The columns an on-demand view declares as sources: its request sources' fields and its feature views' features."""
    names = [field.name for source in view.source_request_sources.values() for field in source.schema]
    names += [feature.name for projection in view.source_feature_view_projections.values() for feature in projection.features]
    return tuple(dict.fromkeys(names))
