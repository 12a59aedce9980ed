"""File sources of the feature repo are anchored in each profile's lake, however many profiles one process uses."""

from pathlib import Path

import mlops_assets  # noqa: F401  (the package first: resources imports it)
from resources.feast import FeastResource

REPO = Path(__file__).resolve().parents[2] / "feature_repo"


def feast(root: Path) -> FeastResource:
    return FeastResource(repo_path=str(REPO), store_root=str(root / "feast"), lake_root=str(root / "lake"),
                         registry=str(root / "registry.db"), online_store_json="{}")


def test_a_second_profile_reads_its_own_lake(tmp_path):
    from feast.infra.offline_stores.file_source import FileSource

    for home in ("first", "second"):
        objects = feast(tmp_path / home).declarations()
        sources = [*objects.data_sources, *(view.batch_source for view in objects.feature_views)]
        paths = {source.path for source in sources if isinstance(source, FileSource)}
        assert paths and all(p.startswith(str(tmp_path / home / "lake")) for p in paths), paths
