"""Feast feature store: repo declarations applied to the profile's registry and stores."""

from __future__ import annotations

import importlib
import json
import string
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    from feast import FeatureStore

PROJECT = "mlops_assets"


@dataclass
class RepoObjects:
    entities: list = field(default_factory=list)
    data_sources: list = field(default_factory=list)
    feature_views: list = field(default_factory=list)
    on_demand_feature_views: list = field(default_factory=list)
    feature_services: list = field(default_factory=list)


def load_repo(repo: Path) -> RepoObjects:
    """Every Feast object declared in the repo's modules, each once.

    The modules import each other by plain name (`from entities import ...`), like a repo
    run with the `feast` CLI, so the repo folder is put on `sys.path` while importing.
    """
    from feast import Entity, FeatureService, FeatureView
    from feast.data_source import DataSource
    from feast.on_demand_feature_view import OnDemandFeatureView

    kinds = (
        (Entity, "entities"),
        (DataSource, "data_sources"),
        (OnDemandFeatureView, "on_demand_feature_views"),
        (FeatureView, "feature_views"),
        (FeatureService, "feature_services"),
    )
    found = RepoObjects()
    sys.path.insert(0, str(repo))
    try:
        modules = [importlib.import_module(path.stem) for path in sorted(repo.glob("*.py"))]
    finally:
        sys.path.remove(str(repo))
    for module in modules:
        for obj in vars(module).values():
            for kind, bucket in kinds:
                if isinstance(obj, kind):
                    objects = getattr(found, bucket)
                    if not any(obj is known for known in objects):
                        objects.append(obj)
                    break
    return found


_DECLARED_PATHS: dict[int, str] = {}  # id of a FileSource of the imported repo -> its path as the user wrote it


class FeastResource(dg.ConfigurableResource):
    """Renders feature_store.yaml for the profile, applies the repo and hands out the store."""

    repo_path: str
    store_root: str
    lake_root: str
    registry: str
    registry_type: str = "file"
    online_store_json: str

    def render_config(self) -> Path:
        """Write $MLOPS_HOME/feast/feature_store.yaml; `feast -c <that folder>` then works too."""
        root = Path(self.store_root)
        root.mkdir(parents=True, exist_ok=True)
        template = (Path(self.repo_path) / "feature_store.yaml.template").read_text()
        registry: Any = self.registry
        if self.registry_type != "file":
            registry = {"registry_type": self.registry_type, "path": self.registry, "cache_ttl_seconds": 60}
        text = string.Template(template).substitute(
            project=PROJECT, registry=json.dumps(registry), online_store=self.online_store_json
        )
        target = root / "feature_store.yaml"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        return root

    def store(self) -> FeatureStore:
        from feast import FeatureStore

        return FeatureStore(repo_path=str(self.render_config()))

    def declarations(self) -> RepoObjects:
        """Import the repo's modules (as `feast apply` does) and anchor file sources in the lake."""
        from feast.infra.offline_stores.file_source import FileSource

        objects = load_repo(Path(self.repo_path))
        for source in [*objects.data_sources, *(fv.batch_source for fv in objects.feature_views)]:
            if isinstance(source, FileSource):
                # the modules stay imported: remember the path as declared, or a second profile in this
                # process (a test, a notebook) would read the first one's lake (measured: a test order did)
                declared = _DECLARED_PATHS.setdefault(id(source), source.path)
                if not Path(declared).is_absolute():
                    source.file_options.uri = str(Path(self.lake_root) / declared)
        return objects

    def apply(self) -> dict[str, list[str]]:
        """Register every declaration; returns the names applied, by kind."""
        contents = self.declarations()
        objects = [
            *contents.entities,
            *contents.data_sources,
            *contents.feature_views,
            *contents.on_demand_feature_views,
            *contents.feature_services,
        ]
        self.store().apply(objects)
        return {
            "entities": sorted(e.name for e in contents.entities),
            "feature_views": sorted(v.name for v in contents.feature_views),
            "on_demand_feature_views": sorted(v.name for v in contents.on_demand_feature_views),
            "feature_services": sorted(s.name for s in contents.feature_services),
        }

    def materialize(self, start: datetime, end: datetime | None = None) -> None:
        self.store().materialize(start_date=start, end_date=end or datetime.now(timezone.utc))


def feature_columns(store: FeatureStore, feature_service: str) -> list[str]:
    """Output column names of a feature service, in its order: the model's input list."""
    service = store.get_feature_service(feature_service)
    return [feature.name for projection in service.feature_view_projections for feature in projection.features]


def request_columns(store: FeatureStore, feature_service: str) -> list[str]:
    """Fields a caller must send: request-source fields of the service's on-demand views."""
    from feast.errors import FeatureViewNotFoundException, OnDemandFeatureViewNotFoundException

    service = store.get_feature_service(feature_service)
    names: list[str] = []
    for projection in service.feature_view_projections:
        try:
            odfv = store.get_on_demand_feature_view(projection.name)
        except (FeatureViewNotFoundException, OnDemandFeatureViewNotFoundException):  # a regular view: inputs come from the store
            continue
        for source in odfv.source_request_sources.values():
            names.extend(field.name for field in source.schema)
    return names
