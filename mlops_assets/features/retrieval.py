"""Model inputs from the feature service, for training sets and for monitoring alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from mlops_assets.errors import DataError
from mlops_assets.specs.model import ModelSpec


def model_inputs(store: Any, spec: ModelSpec, rows: pd.DataFrame, *, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Point-in-time features of `rows` (entity keys, event time, request fields), in time order.

    Training and monitoring both call this, so both see the feature service's exact inputs;
    `extra` columns (the label) pass through. Feast does not keep row order, hence the sort.
    """
    from resources.feast import request_columns

    columns = list(dict.fromkeys([spec.id_column, *spec.entity_keys, spec.event_time, *request_columns(store, spec.feature_service), *extra]))
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise DataError(f"rows lack columns {missing} that {spec.feature_service} needs (entity keys, event time, request fields)")
    entity = rows.loc[:, columns].copy()
    entity[spec.event_time] = pd.to_datetime(entity[spec.event_time], utc=True)
    frame = store.get_historical_features(entity_df=entity, features=store.get_feature_service(spec.feature_service)).to_df()
    return frame.sort_values([spec.event_time, spec.id_column], kind="stable").reset_index(drop=True)
