"""`ModelSpec`: the frozen description of one model that the model factory turns into assets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from mlops_assets import keys
from mlops_assets.conditions import stage_attributes
from mlops_assets.errors import ConfigurationError
from mlops_assets.specs.contract import check_name
from mlops_assets.specs.policy import RetrainPolicy
from mlops_assets.specs.source import SourceSpec
from mlops_assets.training.trainers import TrainedModel, train_lightgbm, train_logistic_baseline

Trainer = Callable[..., TrainedModel]
ROLLOUTS = ("gate", "shadow", "canary")
UNKNOWN_FIELDS = ("reject", "ignore")  # what the endpoint does with request fields the model does not take


@dataclass(frozen=True)
class ModelSpec:
    """Everything that differs between two models; the factory holds everything that doesn't.

    A model learns ``source``'s label from the Feast ``feature_service`` (the one feature list
    training and serving both read), looked up by ``entity_keys`` (columns of the source).
    ``label`` defaults to the label contract's column and may only repeat it.
    ``optional_entity_keys`` may be unknown to the feature store (their features are then
    missing); any other unknown key is a client error at the endpoint. ``sticky_keys`` name
    the request fields that identify who asks, so a canary always answers the same callers.

    ``trainer`` fits the challenger and ``baseline`` the bar a first model must clear; both
    are called as ``f(train, features=, label=, categorical=, seed=, weights=)`` (the trainer
    also with ``params=params``) and return a `TrainedModel`. ``categorical_features`` are
    passed as ``categorical``; ``recency_half_life_days`` makes ``weights`` halve every that
    many days back from the newest row (None: equal weights), so a retrain after a change
    follows the newest outcomes. The last ``holdout_days`` days are held out; fewer than
    ``min_training_rows`` training rows fail the run.

    The gate promotes a challenger that beats the champion (for a first model, the baseline)
    on the holdout by ``margin`` in ``metric`` (roc_auc, pr_auc, log_loss, brier or ece;
    margin 0 by default: at least as good, as the challenger has learnt newer data, and a
    positive margin kept stale champions serving, docs/decisions/0011) and,
    against a champion, loses no more than ``max_slice_regression`` ROC-AUC on any value of
    the ``slices`` columns that holds ``gate_min_per_class`` of each outcome (fewer make a
    slice's AUC noise). It compares only on rows neither model was trained on (after both
    training windows) and waits, deciding nothing, while there are fewer than
    ``gate_min_rows`` of them or fewer than ``gate_min_per_class`` of either outcome. With
    ``refit_after_gate`` a challenger that passes is refit on all its rows, holdout days
    included, with the same parameters, and that refit is what serves (registered as its own
    version, tagged ``refit_of``). ``policy`` limits automatic retraining.
    ``drift_exempt`` names features the drift test skips (calendar fields, values fixed for a
    day) and lists as exempt in the drift report; they are feature names, not source columns.

    `rollout` says how a challenger that passed the gate reaches traffic: "gate" makes it the
    champion at once; "shadow" has it score every request beside the champion, and "canary"
    has it answer `canary_percent` % of callers, until `<name>/rollout_decision` compares
    the two on logged traffic (each side needing `rollout_min_outcomes` known outcomes) and
    promotes it or ends the experiment.

    ``unknown_request_fields`` says what the endpoint does with a request field the model
    does not take: "reject" (422 naming it: a misspelt field or a leaked label is a client
    bug, not something to score around) or "ignore" (drop it, for clients that send whole
    records).

    ``owners`` go on every asset of the model; ``description`` is for the people reading the spec.

    The check `<name>_training_data_age` on the endpoint warns when the newest day the champion
    trained on is more than ``max_training_data_age_days`` older than the newest validated day
    (at least 1, and at least the label delay: outcomes trail events by that much).
    """

    name: str
    source: SourceSpec
    feature_service: str
    entity_keys: tuple[str, ...]
    label: str | None = None
    trainer: Trainer = train_lightgbm
    baseline: Trainer = train_logistic_baseline
    categorical_features: tuple[str, ...] = ()
    metric: str = "roc_auc"
    margin: float = 0.0
    holdout_days: int = 14
    recency_half_life_days: float | None = None
    min_training_rows: int = 500
    optional_entity_keys: tuple[str, ...] = ()
    sticky_keys: tuple[str, ...] = ()
    slices: tuple[str, ...] = ()
    max_slice_regression: float = 0.05
    gate_min_rows: int = 200
    gate_min_per_class: int = 20
    refit_after_gate: bool = True
    seed: int = 7
    policy: RetrainPolicy = RetrainPolicy()
    drift_exempt: tuple[str, ...] = ()
    rollout: str = "gate"
    canary_percent: float = 10.0
    rollout_min_outcomes: int = 200
    owners: tuple[str, ...] = ()
    description: str = ""
    params: dict[str, float | int | str] = field(default_factory=dict, hash=False)
    max_training_data_age_days: int = 60
    unknown_request_fields: str = "reject"

    def __post_init__(self) -> None:
        check_name("ModelSpec", self.name)
        where = f"ModelSpec {self.name!r}"
        if not isinstance(self.source, SourceSpec):
            raise ConfigurationError(f"{where}: source must be a SourceSpec (the data it learns from), got {type(self.source).__name__}")
        contract = self.source.labels.column
        if self.label is None:
            object.__setattr__(self, "label", contract)
        elif self.label != contract:
            raise ConfigurationError(
                f"{where}: label={self.label!r} is not in the label contract of source {self.source.name!r}, which names "
                f"{contract!r}; use label={contract!r} (or leave it out), or add the label to the source's LabelContract"
            )
        columns = [c.name for c in self.source.columns]
        for what, names in (("entity_keys", self.entity_keys), ("optional_entity_keys", self.optional_entity_keys),
                            ("sticky_keys", self.sticky_keys), ("slices", self.slices)):  # fmt: skip
            unknown = [n for n in names if n not in columns]
            if unknown:
                raise ConfigurationError(
                    f"{where}: {what} {unknown} are not columns of source {self.source.name!r} ({', '.join(columns)}); "
                    f"add them to the source's contract or fix the names"
                )
        if not isinstance(self.drift_exempt, tuple) or not all(isinstance(n, str) for n in self.drift_exempt):
            raise ConfigurationError(f"{where}: drift_exempt={self.drift_exempt!r} must be a tuple of feature names, e.g. ('day_of_week',)")
        if not self.entity_keys:
            raise ConfigurationError(f"{where}: entity_keys is empty; name the source columns features are looked up by")
        if stray := sorted(set(self.optional_entity_keys) - set(self.entity_keys)):
            raise ConfigurationError(f"{where}: optional_entity_keys {stray} must also be in entity_keys")
        if self.holdout_days < 1:
            raise ConfigurationError(f"{where}: holdout_days={self.holdout_days} must be at least 1 day")
        if self.gate_min_rows < 1 or self.gate_min_per_class < 1:
            raise ConfigurationError(f"{where}: gate_min_rows={self.gate_min_rows} and gate_min_per_class={self.gate_min_per_class} must be at least 1")
        if not 0 <= self.margin < 1:
            raise ConfigurationError(f"{where}: margin={self.margin} must be in [0, 1)")
        if self.unknown_request_fields not in UNKNOWN_FIELDS:
            raise ConfigurationError(f"{where}: unknown_request_fields={self.unknown_request_fields!r} must be one of {', '.join(UNKNOWN_FIELDS)}")
        if self.rollout not in ROLLOUTS:
            raise ConfigurationError(f"{where}: rollout={self.rollout!r} must be one of {', '.join(ROLLOUTS)}")
        if not 0 < self.canary_percent <= 50:
            raise ConfigurationError(f"{where}: canary_percent={self.canary_percent} must be in (0, 50]: a canary is the smaller share")
        if self.rollout_min_outcomes < 1:
            raise ConfigurationError(f"{where}: rollout_min_outcomes={self.rollout_min_outcomes} must be at least 1")
        if self.max_training_data_age_days < max(1, self.source.labels.delay_days):
            raise ConfigurationError(
                f"{where}: max_training_data_age_days={self.max_training_data_age_days} must be at least 1 and at least the label "
                f"delay of source {self.source.name!r} ({self.source.labels.delay_days} days): a champion trained today is already "
                "that old; raise it"
            )

    @property
    def registered_model(self) -> str:
        """Its name in the MLflow registry: the spec's name, so assets and registry versions match."""
        return self.name

    @property
    def retrain_job(self) -> str:
        """`<name>_retrain`: the job the retrain sensors and the weekly schedule launch."""
        return f"{self.name}_retrain"

    @property
    def rollout_job(self) -> str:
        """`<name>_rollout`: the job that decides a running shadow or canary."""
        return f"{self.name}_rollout"

    @property
    def events(self) -> dg.AssetKey:
        """The labelled events this model trains on: one row per event whose outcome is known."""
        return self.source.key("labelled")

    @property
    def inputs(self) -> dg.AssetKey:
        """The daily validated events drift is measured on."""
        return self.source.key("validated")

    @property
    def id_column(self) -> str:
        """The source's id column: it joins labels to events and outcomes to predictions."""
        return self.source.id_column

    @property
    def event_time(self) -> str:
        """The source's event time: the point-in-time join and the holdout split read it."""
        return self.source.event_time

    @property
    def asset_tags(self) -> dict[str, str]:
        """Tags on every asset of this model: the catalog filters by them, jobs select by them."""
        return {"mlops/model": self.name, "mlops/source": self.source.name}

    def asset_attributes(self, stage: str, group: str) -> dict[str, Any]:
        """What every asset of this model carries (key, owners, tags, group), in one place so none lacks one,
        plus the stage's automation condition or freshness policy, if it has one (`mlops_assets.conditions`)."""
        return {"key": keys.model_key(self.name, stage), "owners": list(self.owners), "tags": self.asset_tags, "group_name": group,
                **stage_attributes(self, stage)}  # fmt: skip

    @property
    def required_entity_keys(self) -> tuple[str, ...]:
        """Entity keys the feature store must know for the endpoint to score a request."""
        return tuple(k for k in self.entity_keys if k not in self.optional_entity_keys)
