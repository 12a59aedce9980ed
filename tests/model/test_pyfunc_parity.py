"""The server scores with the native LightGBM booster, not MLflow's pyfunc: both must give the same numbers.

The native path skips pandas and the pyfunc layer (about 3 ms a row, STACK_NOTES §6), and a
single row goes through LightGBM's single-row C API, so this pins that neither changes a
score, NaNs and integer-coded categoricals included.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_assets.training.native_model import NativeModel
from mlops_assets.training.model_io import load_trained, log_trained
from mlops_assets.training.trainers import train_lightgbm

FLOATS = [f"x{i}" for i in range(9)]
FEATURES = [*FLOATS, "grade"]  # grade: an integer-coded categorical, as the feature step writes it
TOLERANCE = 1e-9


def synthetic(n: int, seed: int) -> pd.DataFrame:
    """Floats with ~10% NaNs and a 7-level categorical; the label depends on both."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, len(FLOATS))), columns=FLOATS)
    frame["grade"] = rng.integers(0, 7, size=n).astype("float64")
    logit = frame["x0"] - 0.5 * frame["x1"] + 0.8 * (frame["grade"] >= 4) + 0.3 * frame["x2"] * frame["x3"]
    frame["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame[FLOATS] = frame[FLOATS].mask(rng.random((n, len(FLOATS))) < 0.1)
    return frame


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A throwaway sqlite tracking store and registry; MLflow's process-global URIs are put back after."""
    import mlflow

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(name, uri)  # mlflow writes these too; monkeypatch restores them
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("parity", artifact_location=(tmp_path / "art").as_uri()))
    try:
        yield
    finally:
        mlflow.end_run()
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # None unsets it, though the annotation says str
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]


def test_native_booster_scores_equal_pyfunc_scores(tracking: None) -> None:
    import mlflow

    train = synthetic(4000, seed=11)
    model = train_lightgbm(train, features=FEATURES, label="default", categorical=("grade",), seed=7)
    with mlflow.start_run():
        info = log_trained(model, name="model", example=train, registered_model="parity")
    uri = f"models:/parity/{info.registered_model_version}"

    frame = synthetic(1000, seed=12)[FEATURES]
    assert frame.isna().any(axis=1).mean() > 0.5  # most rows carry a NaN somewhere
    pyfunc = np.asarray(mlflow.pyfunc.load_model(uri).predict(frame), dtype="float64")
    native = NativeModel(load_trained(uri, flavor="lightgbm", features=FEATURES))
    matrix = frame.to_numpy(dtype="float64")  # what the server builds from a request's fields
    batched = native.predict(matrix)  # Booster.predict
    rows = np.array([native.predict_one(matrix[i].tolist()) for i in range(len(matrix))])  # the single-row C API

    batch_diff = float(np.max(np.abs(batched - pyfunc)))
    row_diff = float(np.max(np.abs(rows - pyfunc)))
    print(
        f"\n[pyfunc parity] {len(frame)} rows: max |native batch - pyfunc| {batch_diff:.3g}, "
        f"row by row {row_diff:.3g}"
    )
    assert batch_diff <= TOLERANCE and row_diff <= TOLERANCE
    assert np.ptp(pyfunc) > 0.5  # a model that actually separates, not a constant
