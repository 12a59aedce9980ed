"""The request codes a model reads directly, as floats: one transformation for training and serving.

Feast runs ``encode_codes`` as the on-demand view ``request_codes`` on the training entity
frame and the online server runs ``encode_code_columns`` (its columnar twin) on each request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

CODE_INPUTS = ("role_rollup_1", "role_rollup_2", "role_family", "role_code")
CODE_FEATURES = tuple(f"{name}_code" for name in CODE_INPUTS)


def encode_code_columns(inputs: Mapping[str, Any]) -> dict[str, list[float]]:
    """Each code column as floats (missing as NaN); ``inputs`` maps a field to a list or a pandas Series."""
    return {feature: _floats(inputs[name]) for name, feature in zip(CODE_INPUTS, CODE_FEATURES)}


def encode_codes(inputs: pd.DataFrame) -> pd.DataFrame:
    """``encode_code_columns`` as the DataFrame a pandas on-demand feature view returns."""
    return pd.DataFrame(encode_code_columns(inputs), index=inputs.index, dtype="float64")


def _floats(column: Any) -> list[float]:
    if isinstance(column, pd.Series):
        return column.astype("float64").tolist()
    return [math.nan if value is None else float(value) for value in column]
