"""One module per external system; `resources_for` builds them all from a profile."""

from __future__ import annotations

import json
from typing import Any

from mlops_assets.profile import ADMIN_TOKEN_VAR, MLFLOW_DB_VAR, Profile

EXPERIMENT = "mlops-assets"


def resources_for(profile: Profile) -> dict[str, Any]:
    """Every resource the asset graph uses, configured for the profile (embedded or production).

    The admin token and the MLflow database URL are ``dg.EnvVar`` when this process has them
    (``Profile.secret``): the UI and run config then show the variable's name, not its value.
    """
    from resources.feast import FeastResource
    from resources.lake import LakeResource
    from resources.mlflow import RegistryResource, tracking_resource
    from resources.serving import EndpointResource

    return {
        "lake": LakeResource(root=str(profile.lake_root), landing_root=str(profile.landing_root)),
        "feast": FeastResource(
            repo_path=str(profile.feature_repo),
            store_root=str(profile.feast_root),
            lake_root=str(profile.lake_root),
            registry=profile.feast_registry,
            registry_type=profile.feast_registry_type,
            online_store_json=json.dumps(dict(profile.feast_online_store)),
        ),
        "registry": RegistryResource(
            tracking_uri=profile.secret(MLFLOW_DB_VAR, profile.mlflow_tracking_uri), artifact_root=profile.mlflow_artifact_root, ui_url=profile.mlflow_ui_url
        ),
        "mlflow": tracking_resource(profile.mlflow_tracking_uri, EXPERIMENT, profile.mlflow_artifact_root,
                                    env_var=MLFLOW_DB_VAR if MLFLOW_DB_VAR in profile.in_environment else None),
        "endpoint": EndpointResource(serving_root=str(profile.serving_root), admin_token=profile.secret(ADMIN_TOKEN_VAR, profile.admin_token)),
    }
