"""What the Dagster UI shows without a click: plots as column descriptions, MLflow pages as links."""

from __future__ import annotations

import base64
import re
import struct

import numpy as np

from mlops_assets.evaluation.plots import calibration_png, pr_curve_png, roc_curve_png
from mlops_assets.monitoring.drift import CONSTANT_WITHIN_DAY, EXEMPT, DriftAssessment, FeatureDrift, drift_png
from mlops_assets.ui_metadata import COLUMN_SCHEMA, plot_columns
from resources.mlflow import RegistryResource, run_url, version_url

DESCRIPTION_BOX_PX = 320  # Dagster 1.13 cuts a description taller than this behind "Show more"


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    return struct.unpack(">II", png[16:24])


def test_each_plot_is_a_column_whose_description_is_the_picture() -> None:
    pngs = {"roc.png": b"\x89PNG first", "calibration.png": b"\x89PNG second"}
    schema = plot_columns(pngs)[COLUMN_SCHEMA]
    assert [c.name for c in schema.columns] == ["roc", "calibration"]
    for column, png in zip(schema.columns, pngs.values(), strict=True):
        alt, data = re.fullmatch(r"!\[(\w+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", column.description).groups()
        assert alt == column.name and base64.b64decode(data) == png


def test_evaluation_plots_fit_the_description_box_whole() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    scores = {"challenger": np.clip(y * 0.4 + rng.random(500) * 0.6, 0, 1), "baseline": rng.random(500)}
    for png in (roc_curve_png(y, scores), pr_curve_png(y, scores), calibration_png(y, scores)):
        width, height = png_size(png)
        assert height < DESCRIPTION_BOX_PX - 16 and width <= 480, (width, height)  # a line box's worth of slack


def test_a_drift_plot_of_up_to_23_features_fits_too() -> None:
    def height(features: int) -> int:
        """Tested features, two skipped ones among them (a row each, no bar) and the prediction."""
        tests = tuple(FeatureDrift(f"feature_{i}", 0.03 * i, 0.1, 0.5, 0.5, i % 2 == 0, 100, 0.0, 0.0) for i in range(features - 3))
        skipped = (("weekday", CONSTANT_WITHIN_DAY), ("month", EXEMPT))
        assessment = DriftAssessment(False, "", 100, tests, skipped, FeatureDrift("prediction", 0.1, 0.1, 0.5, 0.5, False, 100, 0.0, 0.0), 0.25, 0.01)
        return png_size(drift_png(assessment))[1]

    assert all(height(n) < DESCRIPTION_BOX_PX - 16 for n in (1, 14, 20, 23))
    assert height(40) > DESCRIPTION_BOX_PX  # bars never shrink below 0.1 in: more features grow the picture


def test_links_have_the_mlflow_3_ui_shapes() -> None:
    assert run_url("http://mlflow:5000/", "3", "abc") == "http://mlflow:5000/#/experiments/3/runs/abc"
    assert version_url("http://mlflow:5000", "credit", "7") == "http://mlflow:5000/#/models/credit/versions/7"
    assert version_url("http://m", "a b/c", "1") == "http://m/#/models/a%20b%2Fc/versions/1"
    registry = RegistryResource(tracking_uri="sqlite:///unused.db", artifact_root="file:///unused", ui_url="http://m")
    links = registry.links(model="credit", version="7")  # no run: nothing is looked up in MLflow
    assert set(links) == {"registry_version"} and links["registry_version"].value == "http://m/#/models/credit/versions/7"
