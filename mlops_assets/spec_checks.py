"""Checks that need more than one spec: names unique across the definitions, feature services declared,
keys and request fields known to the source. They run when the definitions load, so a bad spec fails
there, with the fix in the message, instead of in the middle of a run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mlops_assets.errors import ConfigurationError
from mlops_assets.specs.model import ModelSpec
from mlops_assets.specs.source import SourceSpec


def sources_of(models: Sequence[ModelSpec]) -> tuple[SourceSpec, ...]:
    """The distinct sources of ``models``, in order; names of models, sources and tables checked unique."""
    if not models:
        raise ConfigurationError("no models to build: pass at least one ModelSpec")
    names = [m.name for m in models]
    if duplicated := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigurationError(f"model names {duplicated} are used twice; every ModelSpec needs its own name (it keys assets and the registry)")
    sources: dict[str, SourceSpec] = {}
    for model in models:
        known = sources.setdefault(model.source.name, model.source)
        if known != model.source:
            raise ConfigurationError(
                f"two different sources are named {model.source.name!r} (one of them is the source of model {model.name!r}); "
                "give each SourceSpec its own name, or share one SourceSpec object between the models"
            )
    tables = [t.name for s in sources.values() for t in (*s.reference_tables, *s.feature_tables)]
    if duplicated := sorted({t for t in tables if tables.count(t) > 1}):
        raise ConfigurationError(f"reference/feature tables {duplicated} are declared by two sources; table names must be unique")
    return tuple(sources.values())


def check_against_feature_repo(models: Sequence[ModelSpec], repo: Path) -> None:
    """Each model's feature service is declared in the repo, and what it needs comes from the model's source:
    the join keys of its feature views are entity keys, the fields of its request sources are source columns."""
    from resources.feast import load_repo

    objects = load_repo(repo)
    services = {service.name: service for service in objects.feature_services}
    views = {view.name: view for view in objects.feature_views}
    on_demand = {view.name: view for view in objects.on_demand_feature_views}
    join_keys = {entity.name: entity.join_key for entity in objects.entities}
    for model in models:
        where = f"ModelSpec {model.name!r}"
        service = services.get(model.feature_service)
        if service is None:
            raise ConfigurationError(
                f"{where}: feature service {model.feature_service!r} is not declared in the feature repo {repo} "
                f"(it declares {', '.join(sorted(services)) or 'none'}); add FeatureService(name={model.feature_service!r}, ...) "
                "to your domain's module there, or fix ModelSpec.feature_service"
            )
        columns = {c.name for c in model.source.columns}
        for projection in service.feature_view_projections:
            if projection.name in views:
                keys = [projection.join_key_map.get(k, k) for k in (join_keys.get(e, e) for e in views[projection.name].entities)]
                if missing := [k for k in keys if k not in model.entity_keys]:
                    raise ConfigurationError(
                        f"{where}: feature view {projection.name!r} of service {service.name!r} is looked up by {missing}, "
                        f"which are not in entity_keys {list(model.entity_keys)}; add them (they must be columns of source {model.source.name!r})"
                    )
            elif projection.name in on_demand:
                fields = [f.name for s in on_demand[projection.name].source_request_sources.values() for f in s.schema]
                if missing := [f for f in fields if f not in columns]:
                    raise ConfigurationError(
                        f"{where}: on-demand view {projection.name!r} takes request fields {missing}, which source "
                        f"{model.source.name!r} does not have; add them to its contract or change the view's RequestSource"
                    )
