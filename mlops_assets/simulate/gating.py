"""The champion gate as the `champion_gate` asset decides, on the replay's in-memory versions.

A first model is compared with its baseline on the whole holdout; a challenger with the
champion on the holdout rows neither was trained on (`comparison_rows`), waiting when they
are too few. The decisions are the asset's own functions; only the reading of the registry
and the lake is replaced by the versions in memory.
"""

from __future__ import annotations

import pandas as pd

from mlops_assets.deployment.assets import compare_on_rows, gate_terms
from mlops_assets.deployment.gate import GateDecision, comparison_rows, decide, wait
from mlops_assets.evaluation.metrics import classification_metrics
from mlops_assets.simulate.versions import Fitted
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.trainers import TrainedModel


def first_gate(spec: ModelSpec, holdout: pd.DataFrame, challenger: TrainedModel, baseline: TrainedModel) -> GateDecision:
    """A first model against its baseline, both fitted on the same rows, on the whole holdout after them."""
    score = {name: classification_metrics(holdout[spec.label], model.predict(holdout))[spec.metric]
             for name, model in (("challenger", challenger), ("baseline", baseline))}  # fmt: skip
    return decide(challenger=score["challenger"], reference=score["baseline"], reference_name="baseline", **gate_terms(spec))


def champion_gate(spec: ModelSpec, holdout: pd.DataFrame, challenger: Fitted, champion: Fitted) -> GateDecision:
    """The challenger against the serving champion on the holdout rows after both training windows."""
    fair = comparison_rows(holdout[spec.event_time], holdout[spec.label], challenger_through=challenger.trained_through,
                           champion_through=champion.trained_through, min_rows=spec.gate_min_rows,
                           min_per_class=spec.gate_min_per_class)  # fmt: skip
    if fair.wait:
        return wait(reason=fair.wait, metric=spec.metric, reference_name="champion", margin=spec.margin)
    return compare_on_rows(spec, holdout[fair.mask], champion.model, challenger.model, reference_name="champion")
