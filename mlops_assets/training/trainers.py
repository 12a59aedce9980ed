"""Trainers: a function from a training frame to a `TrainedModel` the factory can log and score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "verbose": -1,
}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model, the MLflow flavour that stores it, and the inputs it expects.

    What every trainer returns: the factory logs ``model`` with the ``flavor`` MLflow module
    (lightgbm or sklearn), records ``params``, and scores rows by ``features``, in that order.
    """

    flavor: str
    model: Any
    features: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class, one per row."""
        return self.predict_matrix(frame.loc[:, list(self.features)].to_numpy(dtype="float64"))

    def predict_matrix(self, matrix: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """The same from a float matrix whose columns are ``features``; ``threads`` caps LightGBM's (None: its default)."""
        if self.flavor == "lightgbm":
            options = {} if threads is None else {"num_threads": threads}
            return np.asarray(self.model.predict(matrix, **options), dtype="float64")
        return np.asarray(self.model.predict_proba(matrix)[:, 1], dtype="float64")


def train_lightgbm(
    train: pd.DataFrame,
    *,
    features: Sequence[str],
    label: str,
    categorical: Sequence[str] = (),
    seed: int = 7,
    params: Mapping[str, Any] | None = None,
    weights: np.ndarray | None = None,
) -> TrainedModel:
    """LightGBM on a float matrix (categoricals as integer codes), early-stopped on the latest 10%.

    Rows arrive in time order, so the newest tenth picks the number of rounds, and the final
    model is then fitted on every row with that many. ``params`` override the defaults in
    `mlops_assets.training.trainers.LIGHTGBM_DEFAULTS` (``num_boost_round`` caps the rounds: 600).
    """
    import lightgbm as lgb

    config = {**LIGHTGBM_DEFAULTS, "seed": seed, **(params or {})}
    rounds = int(config.pop("num_boost_round", 600))
    cut = int(len(train) * 0.9)  # rows arrive in time order: validate on the most recent
    x = train.loc[:, list(features)].to_numpy(dtype="float64")
    y = train[label].to_numpy()
    cats = [i for i, name in enumerate(features) if name in set(categorical)]
    w = None if weights is None else np.asarray(weights, dtype="float64")
    fit = lgb.Dataset(x[:cut], y[:cut], weight=None if w is None else w[:cut], feature_name=list(features), categorical_feature=cats, free_raw_data=False)
    valid = lgb.Dataset(x[cut:], y[cut:], weight=None if w is None else w[cut:], reference=fit)
    booster = lgb.train(
        config, fit, num_boost_round=rounds, valid_sets=[valid], callbacks=[lgb.early_stopping(50, verbose=False)]
    )
    best = booster.best_iteration or rounds
    final = lgb.train(
        config, lgb.Dataset(x, y, weight=w, feature_name=list(features), categorical_feature=cats), num_boost_round=best
    )
    return TrainedModel("lightgbm", final, tuple(features), {**config, "num_boost_round": best})


def train_logistic_baseline(
    train: pd.DataFrame,
    *,
    features: Sequence[str],
    label: str,
    categorical: Sequence[str] = (),
    seed: int = 7,
    params: Mapping[str, Any] | None = None,
    weights: np.ndarray | None = None,
) -> TrainedModel:
    """Median-imputed, scaled logistic regression: the bar a first model must clear.

    It takes a trainer's arguments so a spec can swap it; ``categorical`` and ``params`` are not used.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000, random_state=seed),
    )
    model.fit(train.loc[:, list(features)].to_numpy(dtype="float64"), train[label].to_numpy(), logisticregression__sample_weight=weights)
    return TrainedModel("sklearn", model, tuple(features), {"model": "logistic_regression", "seed": seed})


# Dagster `kinds` of the shipped trainers, shown on the asset; a trainer not listed adds none.
TRAINER_KINDS: dict[Any, str] = {train_lightgbm: "lightgbm", train_logistic_baseline: "scikit-learn"}


def trainer_kinds(*trainers: Any) -> set[str]:
    """The kinds of the libraries these trainers fit models with."""
    return {TRAINER_KINDS[t] for t in trainers if t in TRAINER_KINDS}
