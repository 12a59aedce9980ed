"""The real Scorer: a registry version's native model fed from the Feast online store.

Request fields and their bounds come from the same places training uses: the feature
service's request sources and entity keys (names) and the source's contract (types, ranges,
categories), so the endpoint accepts exactly what a validated batch would.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_assets.errors import ConfigurationError, ModelNotFoundError
from mlops_assets.features.online import OnlineFeatureReader
from mlops_assets.profile import Profile
from mlops_assets.serving.app import ModelEndpoint
from mlops_assets.serving.contract import FieldSpec, ScorerLoader
from mlops_assets.serving.prediction_log import Fsync
from mlops_assets.training.native_model import NativeModel
from mlops_assets.specs.model import ModelSpec
from mlops_assets.specs.source import SourceSpec
from mlops_assets.training.model_io import FEATURES_TAG, FLAVOR_TAG, load_trained
from mlops_assets.training.trainers import TrainedModel


def field_specs(source: SourceSpec, names: list[str]) -> tuple[FieldSpec, ...]:
    """Request fields typed and bounded by the source's contract: what a validated batch would accept."""
    fields = []
    for name in names:
        try:
            column = source.column(name)
        except KeyError:
            raise ConfigurationError(
                f"request field {name!r} (an entity key or a request-source field of the feature service) is not a column "
                f"of source {source.name!r}; add it to the source's contract"
            ) from None
        if column.kind == "timestamp":
            raise ConfigurationError(f"request field {name!r} of source {source.name!r} is a timestamp; the endpoint takes numbers and strings")
        fields.append(FieldSpec(
            name, column.kind, minimum=column.minimum, maximum=column.maximum, exclusive_minimum=column.strict_min,
            choices=tuple(column.allowed) if column.allowed else None, nullable=column.nullable, max_length=column.max_length,
            pattern=column.pattern, personal=column.personal,
        ))  # fmt: skip
    return tuple(fields)


class FeastScorer:
    """Scores validated request rows; entity features are read straight from the online store."""

    def __init__(self, *, spec: ModelSpec, version: str, model: TrainedModel, store: Any) -> None:
        from resources.feast import request_columns

        self.model_name = spec.name
        self.version = version
        self._model = NativeModel(model)
        self._reader = OnlineFeatureReader(store, spec.feature_service, required_keys=spec.required_entity_keys)
        self.inline = self._reader.local  # a local SQLite read is cheaper than a thread hop; a network read is not
        missing = sorted(set(model.features) - set(self._reader.features))
        if missing:
            raise ConfigurationError(
                f"{spec.name} v{version} needs features {missing} that feature service {spec.feature_service!r} "
                "does not serve: the model was trained on another feature service"
            )
        self.fields = field_specs(spec.source, [*dict.fromkeys([*request_columns(store, spec.feature_service), *spec.entity_keys])])

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


def model_endpoint(profile: Profile, spec: ModelSpec, *, log_fsync: Fsync = "interval") -> ModelEndpoint:
    """What the server needs to answer for ``spec``: its loader, prediction log folder and sticky keys."""
    from resources.serving import prediction_log_folder

    return ModelEndpoint(spec.name, scorer_loader(profile, spec), prediction_log_folder(profile.serving_root, spec.name), spec.sticky_keys,
                         reject_unknown=spec.unknown_request_fields == "reject", log_fsync=log_fsync)  # fmt: skip
