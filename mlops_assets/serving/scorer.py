"""The real Scorer: a registry version's native model fed from the Feast online store.

Request fields and their bounds come from the same places training uses: the feature
service's request source (names) and the validation rules (ranges, categories), so the
endpoint accepts exactly what a validated batch would.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_assets.errors import ConfigurationError, ModelNotFoundError
from mlops_assets.features.online import OnlineFeatureReader
from mlops_assets.profile import Profile
from mlops_assets.schema import APPLICATION_COLUMNS
from mlops_assets.serving.contract import FieldSpec, ScorerLoader
from mlops_assets.serving.native_model import NativeModel
from mlops_assets.specs import ModelSpec
from mlops_assets.training.model_io import FEATURES_TAG, FLAVOR_TAG, load_trained
from mlops_assets.training.trainers import TrainedModel
from mlops_assets.validated.expectations import BETWEEN, IN_SET, RULES

_KINDS = {"int64": "int", "float64": "float", "object": "str"}


def field_specs(names: list[str]) -> tuple[FieldSpec, ...]:
    """Request fields typed by the application contract and bounded by the validation rules."""
    limits: dict[str, dict[str, Any]] = {}
    for rule in RULES:
        if rule.expectation == BETWEEN and rule.bounds:
            limits[rule.column] = {"minimum": rule.bounds[0], "maximum": rule.bounds[1]}
        elif rule.expectation == IN_SET:
            limits[rule.column] = {"choices": rule.allowed}
    return tuple(FieldSpec(name, _KINDS[APPLICATION_COLUMNS[name]], **limits.get(name, {})) for name in names)


class FeastScorer:
    """Scores validated request rows; entity features are read straight from the online store."""

    def __init__(self, *, spec: ModelSpec, version: str, model: TrainedModel, store: Any) -> None:
        from resources.feast import request_columns

        self.model_name = spec.name
        self.version = version
        self._model = NativeModel(model)
        required = [key for key in spec.entity_keys if key not in spec.optional_entity_keys]
        self._reader = OnlineFeatureReader(store, spec.feature_service, required_keys=required)
        self.inline = self._reader.local  # a local SQLite read is cheaper than a thread hop; a network read is not
        missing = sorted(set(model.features) - set(self._reader.features))
        if missing:
            raise ConfigurationError(
                f"{spec.name} v{version} needs features {missing} that feature service {spec.feature_service!r} "
                "does not serve: the model was trained on another feature service"
            )
        self.fields = field_specs([*dict.fromkeys([*request_columns(store, spec.feature_service), *spec.entity_keys])])

    def score(self, rows: list[dict[str, Any]]) -> list[float]:
        if len(rows) == 1:  # most requests: no matrix, straight to the model's single-row path
            return [self._model.predict_one(self._reader.values(rows[0], self._model.features))]
        return self._model.predict(self._reader.matrix(rows, self._model.features)).tolist()


def scorer_loader(profile: Profile, spec: ModelSpec) -> ScorerLoader:
    """A loader the server calls at start and on reload: a version, or the champion for None."""
    from resources import resources_for

    resources = resources_for(profile)
    registry, feast = resources["registry"], resources["feast"]

    def load(version: str | None) -> FeastScorer:
        found = registry.champion(spec.registered_model) if version is None else registry.version(spec.registered_model, version)
        if found is None:
            raise ModelNotFoundError(f"{spec.name} has no champion yet: run the pipeline first (`mlops run` or `make demo`)")
        registry.client()
        model = load_trained(
            f"models:/{spec.registered_model}/{found.version}",
            flavor=found.tags[FLAVOR_TAG],
            features=json.loads(found.tags[FEATURES_TAG]),
        )
        return FeastScorer(spec=spec, version=str(found.version), model=model, store=feast.store())

    return load
