"""MLflow: experiment tracking through dagster-mlflow, and the model registry.

Training assets log through dagster-mlflow's `mlflow_tracking` resource, so a Dagster run
is one MLflow run tagged with its run id. Everything outside a training step (evaluation
artifacts, gate decisions, alias moves, the server) uses `MlflowClient` with explicit ids,
which works whichever Dagster run, CLI call or process does it.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import dagster as dg

from mlops_assets.errors import ModelNotFoundError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

# MLflow phones home from a background thread unless told not to; this project never should.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

CHAMPION = "champion"
HISTORY_TAG = "champion_history"


def ensure_experiment(tracking_uri: str, name: str, artifact_root: str) -> str:
    """Create the experiment with its artifacts under the profile's root (MLflow's default is ./mlruns)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=f"{artifact_root.rstrip('/')}/{name}")


def tracking_resource(tracking_uri: str, experiment: str, artifact_root: str, *, env_var: str | None = None) -> dg.ResourceDefinition:
    """dagster-mlflow's `mlflow_tracking`, after making sure the experiment stores artifacts where we want.

    With ``env_var`` (the variable holding ``tracking_uri`` in this process) its config names
    the variable, so a database password in the URL never shows in the UI or run config.
    """
    from dagster_mlflow import mlflow_tracking

    @dg.resource(config_schema=mlflow_tracking.config_schema, description=mlflow_tracking.description)
    def mlflow_run(init_context: dg.InitResourceContext) -> Any:
        ensure_experiment(tracking_uri, experiment, artifact_root)
        return mlflow_tracking.resource_fn(init_context)

    uri: Any = {"env": env_var} if env_var else tracking_uri
    return mlflow_run.configured({"experiment_name": experiment, "mlflow_tracking_uri": uri})


def run_url(ui_url: str, experiment_id: str, run_id: str) -> str:
    """A run's page in the MLflow 3 UI."""
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def version_url(ui_url: str, model: str, version: str) -> str:
    """A registered model version's page in the MLflow 3 UI (the name escaped as the UI does)."""
    return f"{ui_url.rstrip('/')}/#/models/{urllib.parse.quote(model, safe='')}/versions/{version}"


class RegistryResource(dg.ConfigurableResource):
    """The MLflow model registry: versions, their tags, and the `champion` alias with its history.

    ``ui_url`` is where people open the MLflow UI (the profile's `mlflow_ui_url`), for links in
    the Dagster UI; nothing here calls it.
    """

    tracking_uri: str
    artifact_root: str
    ui_url: str

    def client(self) -> MlflowClient:
        import mlflow
        from mlflow import MlflowClient

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def links(self, *, run_id: str | None = None, model: str | None = None, version: str | None = None) -> dict[str, dg.MetadataValue]:
        """Clickable metadata: the MLflow run (`mlflow_run`) and the registry version (`registry_version`)."""
        links = {}
        if run_id:
            experiment_id = self.client().get_run(run_id).info.experiment_id
            links["mlflow_run"] = dg.MetadataValue.url(run_url(self.ui_url, experiment_id, run_id))
        if model and version:
            links["registry_version"] = dg.MetadataValue.url(version_url(self.ui_url, model, str(version)))
        return links

    def champion(self, model: str) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.client().get_model_version_by_alias(model, CHAMPION)
        except MlflowException:
            return None

    def version(self, model: str, version: str) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        try:
            return self.client().get_model_version(model, version)
        except MlflowException as exc:
            raise ModelNotFoundError(f"model {model!r} has no version {version} in the registry") from exc

    def tag_version(self, model: str, version: str, tags: dict[str, Any]) -> None:
        client = self.client()
        for key, value in tags.items():
            client.set_model_version_tag(model, version, key, str(value))

    def history(self, model: str) -> list[dict[str, str]]:
        """Every move of the champion alias, oldest first."""
        from mlflow.exceptions import MlflowException

        try:
            tags = self.client().get_registered_model(model).tags
        except MlflowException:
            return []
        return json.loads(tags.get(HISTORY_TAG, "[]"))

    def set_champion(self, model: str, version: str, *, by: str, reason: str) -> dict[str, str]:
        """Point `champion` at a version and append the move (who, why, when) to the history."""
        client = self.client()
        previous = self.champion(model)
        client.set_registered_model_alias(model, CHAMPION, version)
        move = {
            "version": str(version),
            "previous": str(previous.version) if previous else "",
            "by": by,
            "reason": reason,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        history = [*self.history(model), move][-25:]  # a registry tag holds 5,000 characters
        client.set_registered_model_tag(model, HISTORY_TAG, json.dumps(history))
        self.tag_version(model, version, {"deployed_at": move["at"], "deployed_by": by})
        return move

    def rollback_target(self, model: str) -> str:
        """The version `champion` pointed at before its current version was promoted."""
        current = self.champion(model)
        if current is None:
            raise ModelNotFoundError(f"model {model!r} has no champion to roll back")
        for move in reversed(self.history(model)):
            if move["version"] == str(current.version) and move["previous"]:
                return move["previous"]
        raise ModelNotFoundError(f"model {model!r}: no earlier champion recorded before v{current.version}; pass --to VERSION")

    def rollback(self, model: str, *, by: str, to: str | None = None) -> dict[str, str]:
        """Move `champion` back (to the previous champion, or to `to`), recorded like any move."""
        current = self.champion(model)
        target = to or self.rollback_target(model)
        self.version(model, target)  # fails clearly if the version does not exist
        move = self.set_champion(model, target, by=by, reason=f"rollback from v{current.version if current else '?'}")
        if current is not None:
            self.tag_version(model, str(current.version), {"rolled_back_at": move["at"], "rolled_back_by": by})
        return move
