"""`ModelSpec`: the frozen description of one model that the factory turns into assets."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from mlops_assets.errors import ConfigurationError
from mlops_assets.keys import LABELLED_EVENTS, VALIDATED_APPLICATIONS
from sensors.policy import RetrainPolicy
from mlops_assets.training.trainers import TrainedModel, train_lightgbm, train_logistic_baseline

Trainer = Callable[..., TrainedModel]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ROLLOUTS = ("gate", "shadow", "canary")


@dataclass(frozen=True)
class ModelSpec:
    """Everything that differs between two models; the factory holds everything that doesn't.

    `optional_entity_keys` may be unknown to the feature store (their features are then
    missing); any other unknown key is a client error. `events` is the asset holding one labelled row per prediction target, with the entity
    keys, `event_time` and the request fields the feature service needs; `inputs` is the
    daily-partitioned asset of new, unlabelled rows that drift is measured on.

    `rollout` says how a challenger that passed the gate reaches traffic: "gate" makes it the
    champion at once; "shadow" has it score every request beside the champion, and "canary"
    has it answer `canary_percent` % of applicants, until `<name>/rollout_decision` compares
    the two on logged traffic (each side needing `rollout_min_outcomes` known outcomes) and
    promotes it or ends the experiment.
    """

    name: str
    feature_service: str
    label: str
    entity_keys: tuple[str, ...]
    trainer: Trainer = train_lightgbm
    baseline: Trainer = train_logistic_baseline
    categorical_features: tuple[str, ...] = ()
    events: dg.AssetKey = LABELLED_EVENTS
    inputs: dg.AssetKey = VALIDATED_APPLICATIONS
    id_column: str = "loan_id"
    event_time: str = "event_timestamp"
    metric: str = "roc_auc"
    margin: float = 0.002
    holdout_days: int = 14
    recency_half_life_days: float | None = None
    min_training_rows: int = 500
    optional_entity_keys: tuple[str, ...] = ()
    slices: tuple[str, ...] = ()
    max_slice_regression: float = 0.05
    seed: int = 7
    policy: RetrainPolicy = RetrainPolicy()
    rollout: str = "gate"
    canary_percent: float = 10.0
    rollout_min_outcomes: int = 200
    description: str = ""
    params: dict[str, float | int | str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigurationError(
                f"ModelSpec.name={self.name!r} must be lower_snake_case (it prefixes asset keys and names the registry model)"
            )
        if self.holdout_days < 1:
            raise ConfigurationError(f"ModelSpec.holdout_days={self.holdout_days} must be at least 1 day")
        if not 0 <= self.margin < 1:
            raise ConfigurationError(f"ModelSpec.margin={self.margin} must be in [0, 1)")
        if self.rollout not in ROLLOUTS:
            raise ConfigurationError(f"ModelSpec.rollout={self.rollout!r} must be one of {', '.join(ROLLOUTS)}")
        if not 0 < self.canary_percent <= 50:
            raise ConfigurationError(f"ModelSpec.canary_percent={self.canary_percent} must be in (0, 50]: a canary is the smaller share")
        if self.rollout_min_outcomes < 1:
            raise ConfigurationError(f"ModelSpec.rollout_min_outcomes={self.rollout_min_outcomes} must be at least 1")

    @property
    def registered_model(self) -> str:
        return self.name

    @property
    def retrain_job(self) -> str:
        return f"{self.name}_retrain"

    @property
    def rollout_job(self) -> str:
        return f"{self.name}_rollout"
