"""The prediction log asset: every served prediction, gathered from the server's batches."""

from pathlib import Path

import dagster as dg

from mlops_assets import keys
from mlops_assets.serving.prediction_log import read_prediction_log
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.serving import EndpointResource, prediction_log_folder

GROUP = "monitoring"


def prediction_log_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("prediction_log", GROUP),
        deps=[keys.model_key(spec.name, "deployed_endpoint")],
        kinds={"parquet"},
        description=f"Every prediction the {spec.name} endpoint served: request id, version, inputs, score, latency.",
    )
    def prediction_log(lake: LakeResource, endpoint: EndpointResource) -> dg.MaterializeResult:
        log = read_prediction_log(prediction_log_folder(Path(endpoint.serving_root), spec.name))
        lake.write_table(log, spec.name, "prediction_log", "part.parquet")
        metadata: dict[str, dg.MetadataValue] = {"rows": dg.MetadataValue.int(len(log))}
        if len(log):
            metadata |= {
                "versions": dg.MetadataValue.json({str(k): int(v) for k, v in log["model_version"].value_counts().items()}),
                "latency_p50_ms": dg.MetadataValue.float(float(log["latency_ms"].quantile(0.5))),
                "latency_p99_ms": dg.MetadataValue.float(float(log["latency_ms"].quantile(0.99))),
                "mean_score": dg.MetadataValue.float(float(log["score"].mean())),
                "last_prediction": dg.MetadataValue.text(str(log["ts"].max())),
            }
        return dg.MaterializeResult(metadata=metadata)

    return prediction_log
