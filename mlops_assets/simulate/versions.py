"""The replay's registry: model versions with the tags the sensors and the gate read, and the trainer calls behind them.

A `Version` carries what the real registry version's tags hold (``trained_through``, the
training set's window end, ``train_rows``, the gate's decision and metric), so the
`RetrainHistory` built here is what `sensors.retrain.retrain_history` would read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlops_assets.monitoring.drift import ReferenceProfile, build_profile
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.split import recency_weights
from mlops_assets.training.trainers import TrainedModel
from sensors.policy import RetrainHistory

PROMOTED, REFUSED, WAITING, DEPLOYED = "promoted", "refused", "waiting", "deployed"  # DEPLOYED: by a schedule, no gate


@dataclass(frozen=True)
class Fitted:
    """A trained model and what it was trained on: the event-time facts every rule reads."""

    model: TrainedModel
    rows: int
    trained_through: pd.Timestamp  # newest event time fitted on (the gate compares only after it)
    profile: ReferenceProfile  # inputs and scores of its training rows, for the drift test


@dataclass(frozen=True)
class Version:
    """One registered version: the fit, its training set's window end and the gate's verdict on it."""

    number: int
    fitted: Fitted
    window_end: pd.Timestamp  # newest event time of its training set, holdout included (data_window.holdout_end)
    decision: str
    decided_at: pd.Timestamp
    holdout_metric: float  # gate.challenger: the value the performance reason compares live results with
    refit_of: int | None = None


@dataclass
class Registry:
    """Versions in registration order, the serving champion and when automatic retrains started."""

    versions: list[Version] = field(default_factory=list)
    champion: Version | None = None
    retrain_starts: list[pd.Timestamp] = field(default_factory=list)

    def register(self, fitted: Fitted, *, window_end: pd.Timestamp, decision: str, at: pd.Timestamp, metric: float,
                 refit_of: int | None = None) -> Version:  # fmt: skip
        version = Version(len(self.versions) + 1, fitted, window_end, decision, at, metric, refit_of)
        self.versions.append(version)
        return version

    def history(self) -> RetrainHistory:
        """What `sensors.retrain.retrain_history` reads from the instance and the registry, nothing running."""
        refused: list[str] = []
        last_refused_at = None
        for version in reversed(self.versions):
            if version.decision in (PROMOTED, DEPLOYED):
                break
            if version.decision == REFUSED:
                refused.insert(0, str(version.number))
                last_refused_at = last_refused_at or version.decided_at.to_pydatetime()
        windows = [v.window_end for v in self.versions]
        return RetrainHistory(
            retrain_starts=[t.to_pydatetime() for t in self.retrain_starts],
            refused_in_a_row=refused,
            last_refused_at=last_refused_at,
            running=0,
            trained_through=max(windows).to_pydatetime() if windows else None,
            champion_through=self.champion.fitted.trained_through.to_pydatetime() if self.champion else None,
        )


class Fits:
    """The spec's trainer (and baseline) called as `fit_and_register` calls them, each fit memoised by its rows.

    Strategies replaying one stream see the same known rows on the same day, so a retrain
    on rows another strategy already trained on reuses that model instead of training it
    again (the trainer is deterministic: same rows, same spec, same model).
    """

    def __init__(self, spec: ModelSpec, features: tuple[str, ...]) -> None:
        self.spec, self.features = spec, list(features)
        self._fits: dict[tuple[int, int], Fitted] = {}
        self.trained = 0

    def _common(self, rows: pd.DataFrame) -> dict[str, Any]:
        weights = recency_weights(rows[self.spec.event_time], self.spec.recency_half_life_days)
        return {"features": self.features, "label": self.spec.label, "categorical": self.spec.categorical_features,
                "seed": self.spec.seed, "weights": weights}  # fmt: skip

    def fit(self, rows: pd.DataFrame) -> Fitted:
        """The spec's trainer with the spec's params on ``rows``, trained once per set of rows."""
        key = (len(rows), int(pd.util.hash_pandas_object(rows[self.spec.id_column], index=False).sum()))
        if key not in self._fits:
            model = self.spec.trainer(rows, params=self.spec.params, **self._common(rows))
            self.trained += 1
            self._fits[key] = Fitted(model, len(rows), rows[self.spec.event_time].max(), self._profile(model, rows))
        return self._fits[key]

    def baseline(self, rows: pd.DataFrame) -> TrainedModel:
        """The spec's baseline on ``rows``: the bar a first model must clear."""
        return self.spec.baseline(rows, **self._common(rows))

    def _profile(self, model: TrainedModel, rows: pd.DataFrame) -> ReferenceProfile:
        return build_profile(rows, self.features, scores=np.asarray(model.predict(rows)))
