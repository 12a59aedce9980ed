"""Time-based split: train on the past, hold out the most recent weeks (never at random)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_assets.errors import DataError

SPLIT = "_split"
TRAIN = "train"
HOLDOUT = "holdout"


@dataclass(frozen=True)
class TimeWindow:
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    holdout_start: pd.Timestamp
    holdout_end: pd.Timestamp

    def as_tags(self) -> dict[str, str]:
        return {name: value.isoformat() for name, value in vars(self).items()}


def holdout_start(last: pd.Timestamp, holdout_days: int) -> pd.Timestamp:
    """Where the holdout of a training set whose newest event is ``last`` begins: midnight, ``holdout_days - 1`` days before its day."""
    return last.normalize() - pd.Timedelta(days=holdout_days - 1)


def time_split(frame: pd.DataFrame, *, time_column: str, holdout_days: int, min_rows: int = 1) -> tuple[pd.DataFrame, TimeWindow]:
    """Mark rows `train` or `holdout`: the holdout starts `holdout_days` before the last day.

    Both sides must keep at least `min_rows` rows, otherwise the comparison a gate makes
    on the holdout would be noise; the error says how much data there is and what to do.
    """
    if frame.empty:
        raise DataError("time_split: no rows to split; land and validate data first (mlops replay)")
    times = pd.to_datetime(frame[time_column], utc=True)
    cutoff = holdout_start(times.max(), holdout_days)
    is_holdout = times >= cutoff
    n_hold, n_train = int(is_holdout.sum()), int((~is_holdout).sum())
    if n_train < min_rows or n_hold < min_rows:
        raise DataError(
            f"time_split: {n_train} training and {n_hold} holdout rows from {times.min():%Y-%m-%d} to "
            f"{times.max():%Y-%m-%d} (holdout = last {holdout_days} days); each side needs {min_rows}: "
            "replay more days or lower ModelSpec.holdout_days / min_training_rows"
        )
    out = frame.assign(**{SPLIT: is_holdout.map({True: HOLDOUT, False: TRAIN})})
    window = TimeWindow(
        train_start=times[~is_holdout].min(),
        train_end=times[~is_holdout].max(),
        holdout_start=times[is_holdout].min(),
        holdout_end=times[is_holdout].max(),
    )
    return out, window


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Stable content hash of a frame (values and column names), to tie a model to its data."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def recency_weights(times: pd.Series, half_life_days: float | None) -> np.ndarray | None:
    """Weights halving every `half_life_days` back from the newest row (None: all rows equal).

    After a concept drift the newest outcomes describe the world the model will serve;
    weighting them lets a retrain follow the change without discarding history.
    """
    if half_life_days is None:
        return None
    age_days = (times.max() - times).dt.total_seconds().to_numpy() / 86_400
    return np.power(0.5, age_days / half_life_days)
