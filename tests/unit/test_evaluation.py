"""Evaluation: metrics against hand-computed values, plots as PNG bytes, the Markdown report."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_assets.evaluation.metrics import (
    METRIC_NAMES,
    calibration_table,
    classification_metrics,
    higher_is_better,
    slice_metrics,
)
from mlops_assets.evaluation.plots import calibration_png, pr_curve_png, roc_curve_png, slice_bar_png
from mlops_assets.evaluation.report import build_report, render_markdown, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Four points small enough to compute every metric by hand.
Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_classification_metrics_match_hand_computed_values() -> None:
    m = classification_metrics(Y, S)
    assert set(m) == {*METRIC_NAMES, "n", "positive_rate"}
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of 4 positive/negative pairs ordered right
    assert m["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)  # precision 1 at recall .5, 2/3 at recall 1
    assert m["brier"] == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    assert m["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4)
    assert m["ece"] == pytest.approx((0.1 + 0.4 + 0.65 + 0.2) / 4)  # one point per bin
    assert m["n"] == 4
    assert m["positive_rate"] == pytest.approx(0.5)


def test_auc_is_one_for_perfect_ranking_and_zero_when_reversed() -> None:
    y = [0, 0, 0, 1, 1]
    s = [0.1, 0.2, 0.3, 0.7, 0.9]
    assert classification_metrics(y, s)["roc_auc"] == 1.0
    assert classification_metrics(y, s)["pr_auc"] == 1.0
    assert classification_metrics(y, [1 - v for v in s])["roc_auc"] == 0.0


def test_ece_averages_scores_within_a_bin() -> None:
    assert classification_metrics([0, 1, 1, 1], [0.05, 0.15, 0.85, 0.95])["ece"] == pytest.approx(0.275)
    # 0.1 and 0.15 share bin [0.1, 0.2): mean score .125 vs observed .5; .9 and .95: .925 vs 1.
    assert classification_metrics([0, 1, 1, 1], [0.1, 0.15, 0.9, 0.95])["ece"] == pytest.approx(
        0.5 * 0.375 + 0.5 * 0.075
    )


def test_log_loss_is_finite_for_confident_misses() -> None:
    m = classification_metrics([0, 1, 0, 1], [1.0, 0.0, 0.2, 0.8])
    assert math.isfinite(m["log_loss"])
    # 0.0 is clipped up to 1e-15 and 1.0 down to 1 - 1e-15 (whose complement is not exactly 1e-15 in floats).
    expected = -(math.log(1 - (1 - 1e-15)) + math.log(1e-15) + 2 * math.log(0.8)) / 4
    assert m["log_loss"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("y", "s", "message"),
    [
        ([1, 1, 1], [0.2, 0.5, 0.9], "only class 1"),
        ([0, 1, 1], [0.2, float("nan"), 0.9], "NaN"),
        ([0, 1, 1], [0.2, 1.5, 0.9], r"\[0, 1\]"),
        ([0, 1, 1], [-0.1, 0.5, 0.9], r"\[0, 1\]"),
        ([0, 1], [0.2, 0.5, 0.9], "2 rows but y_score has 3"),
        ([0, 1, 2], [0.2, 0.5, 0.9], "only 0 and 1"),
        ([0, 1, float("nan")], [0.2, 0.5, 0.9], "only 0 and 1"),
        ([], [], "empty"),
    ],
)
def test_classification_metrics_rejects_bad_inputs(y: list, s: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        classification_metrics(y, s)


def test_calibration_table_bins_and_omits_empty_bins() -> None:
    table = calibration_table([0, 1, 1, 0, 1], [0.3, 0.35, 1.0, 0.0, 0.95])
    assert list(table.columns) == ["bin_lower", "bin_upper", "n", "mean_score", "observed_rate"]
    assert table["bin_lower"].tolist() == pytest.approx([0.0, 0.3, 0.9])  # 0.3 opens its bin; 1.0 joins the last
    assert table["bin_upper"].tolist() == pytest.approx([0.1, 0.4, 1.0])
    assert table["n"].tolist() == [1, 2, 2]
    assert table["mean_score"].tolist() == pytest.approx([0.0, 0.325, 0.975])
    assert table["observed_rate"].tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert calibration_table([0, 1], [0.2, 0.7], bins=2)["bin_lower"].tolist() == [0.0, 0.5]


def test_slice_metrics_counts_and_nan_auc_where_undefined() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "segment": ["A"] * 40 + ["B"] * 35 + ["C"] * 10 + [None] * 5,
            "label": [0, 1] * 20 + [0] * 35 + [0, 1] * 5 + [1] * 5,
            "score": np.r_[rng.uniform(size=40), [0.2] * 35, rng.uniform(size=15)],
        }
    )
    table = slice_metrics(frame, label="label", score="score", slices=["segment"], min_rows=30)
    assert list(table.columns) == ["slice", "value", "n", "positive_rate", "roc_auc", "log_loss", "brier"]
    assert table["n"].tolist() == [40, 35, 10, 5]
    assert table["value"].iloc[:3].tolist() == ["A", "B", "C"]
    assert pd.isna(table["value"].iloc[3])
    assert table["positive_rate"].tolist() == pytest.approx([0.5, 0.0, 0.5, 1.0])
    a, b, c, missing = (table.iloc[i] for i in range(4))
    assert not math.isnan(a["roc_auc"])
    assert math.isnan(b["roc_auc"])  # one class
    assert math.isnan(c["roc_auc"])  # fewer than min_rows rows
    assert math.isnan(missing["roc_auc"])
    assert b["log_loss"] == pytest.approx(-math.log(0.8))
    assert b["brier"] == pytest.approx(0.04)
    assert not math.isnan(
        slice_metrics(frame, label="label", score="score", slices=["segment"], min_rows=10)["roc_auc"].iloc[2]
    )


def test_slice_metrics_rejects_unknown_columns() -> None:
    with pytest.raises(ValueError, match="nope"):
        slice_metrics(pd.DataFrame({"y": [0, 1], "s": [0.1, 0.9]}), label="y", score="s", slices=["nope"])


def test_higher_is_better() -> None:
    assert [higher_is_better(m) for m in METRIC_NAMES] == [True, True, False, False, False]
    with pytest.raises(ValueError, match="roc_auc, pr_auc, log_loss, brier, ece"):
        higher_is_better("accuracy")


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    """A loan-like holdout: ~20% defaults, an informative challenger and a weaker baseline."""
    rng = np.random.default_rng(42)
    n = 2000
    y = (rng.uniform(size=n) < 0.2).astype(int)
    signal = y * 1.5 + rng.normal(size=n)
    return pd.DataFrame(
        {
            "loan_status": y,
            "challenger_score": 1 / (1 + np.exp(-(signal - 2))),
            "baseline_score": 1 / (1 + np.exp(-(0.3 * signal + rng.normal(size=n) - 1.5))),
            "loan_intent": rng.choice(["EDUCATION", "MEDICAL", "VENTURE"], size=n),
            "person_home_ownership": rng.choice(["RENT", "OWN", "OTHER"], size=n, p=[0.6, 0.39, 0.01]),
        }
    )


def test_plots_are_small_pngs_and_leave_no_pyplot_figures(holdout: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    y = holdout["loan_status"].to_numpy()
    scores = {"challenger": holdout["challenger_score"].to_numpy(), "baseline": holdout["baseline_score"].to_numpy()}
    slices = slice_metrics(holdout, label="loan_status", score="challenger_score", slices=["loan_intent"])
    pngs = [
        roc_curve_png(y, scores),
        pr_curve_png(y, scores),
        calibration_png(y, scores, bins=5),
        slice_bar_png(slices),
    ]
    for png in pngs:
        assert png.startswith(PNG_SIGNATURE)
        assert len(png) < 100_000
    assert plt.get_fignums() == []
    assert roc_curve_png(y, scores) == pngs[0]  # deterministic bytes


def test_plots_reject_bad_inputs() -> None:
    with pytest.raises(ValueError, match="empty"):
        roc_curve_png([0, 1], {})
    with pytest.raises(ValueError, match="only class 0"):
        pr_curve_png([0, 0], {"m": np.array([0.1, 0.2])})
    with pytest.raises(ValueError, match="brier_x"):
        slice_bar_png(pd.DataFrame({"slice": ["a"], "value": ["x"], "roc_auc": [0.5]}), metric="brier_x")


@pytest.fixture(scope="module")
def report(holdout: pd.DataFrame):
    return build_report(
        model_name="credit_model",
        model_version="7",
        holdout=holdout,
        label="loan_status",
        scores={"challenger": "challenger_score", "baseline": "baseline_score"},
        slices=["loan_intent", "person_home_ownership"],
        holdout_window={"start": "2021-07-01", "end": "2021-08-01"},
    )


def test_build_report_scores_every_model_on_the_same_rows(report, holdout: pd.DataFrame) -> None:
    y = holdout["loan_status"]
    assert list(report.metrics) == ["challenger", "baseline"]
    assert report.metrics["challenger"] == classification_metrics(y, holdout["challenger_score"])
    assert report.metrics["baseline"] == classification_metrics(y, holdout["baseline_score"])
    assert report.metrics["challenger"]["roc_auc"] > report.metrics["baseline"]["roc_auc"]
    pd.testing.assert_frame_equal(report.calibration, calibration_table(y, holdout["challenger_score"]))
    assert report.slices["n"].sum() == 2 * len(holdout)
    assert set(report.slices["slice"]) == {"loan_intent", "person_home_ownership"}
    assert report.holdout == {"start": "2021-07-01", "end": "2021-08-01", "rows": "2000"}
    assert set(report.plots) == {"roc.png", "pr.png", "calibration.png", "slices.png"}


def test_a_model_without_slices_gets_no_slice_plot_or_section(holdout: pd.DataFrame) -> None:
    report = build_report(
        model_name="access", model_version="1", holdout=holdout, label="loan_status",
        scores={"challenger": "challenger_score"}, slices=[], holdout_window={},
    )  # fmt: skip
    assert set(report.plots) == {"roc.png", "pr.png", "calibration.png"}
    assert "## Slices" not in render_markdown(report, inline_images=False)


def test_build_report_rejects_missing_columns(holdout: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="champion_score"):
        build_report(
            model_name="m", model_version="1", holdout=holdout, label="loan_status",
            scores={"challenger": "champion_score"}, slices=[], holdout_window={},
        )  # fmt: skip


def test_render_markdown_inline_embeds_every_plot(report) -> None:
    md = render_markdown(report, inline_images=True)
    assert md.startswith("# Evaluation: credit_model v7\n")
    for name in (*METRIC_NAMES, "positive_rate", "2021-07-01", "2021-08-01"):
        assert name in md
    assert "| metric | challenger | baseline |" in md
    assert f"| {report.metrics['challenger']['roc_auc']:.4f} | {report.metrics['baseline']['roc_auc']:.4f} |" in md
    images = re.findall(r"!\[(\w+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert [alt for alt, _ in images] == ["roc", "pr", "calibration", "slices"]
    assert base64.b64decode(images[0][1]) == report.plots["roc.png"]
    assert "](roc.png)" not in md


def test_render_markdown_lists_slices_worst_auc_first(report) -> None:
    md = render_markdown(report, inline_images=False)
    slice_lines = [line for line in md.splitlines() if line.startswith(("| loan_intent", "| person_home"))]
    assert len(slice_lines) == len(report.slices)
    defined = report.slices.dropna(subset=["roc_auc"]).sort_values("roc_auc")
    expected = [f"| {s} | {v} |" for s, v in zip(defined["slice"], defined["value"], strict=True)]
    assert [line[: len(e)] for line, e in zip(slice_lines, expected, strict=False)] == expected
    assert slice_lines[-1].startswith("| person_home_ownership | OTHER |")  # ~20 rows: AUC blank, listed last


def test_render_markdown_links_files_without_inline_images(report) -> None:
    md = render_markdown(report, inline_images=False)
    for name in ("roc", "pr", "calibration", "slices"):
        assert f"![{name}]({name}.png)" in md
    assert "base64" not in md


def test_write_report_writes_the_artifact_folder(report, tmp_path: Path) -> None:
    folder = tmp_path / "evaluation"
    paths = write_report(report, folder)
    assert sorted(p.name for p in paths) == sorted(
        ["report.md", "roc.png", "pr.png", "calibration.png", "slices.png", "metrics.json", "slices.csv"]
    )
    assert all(p.parent == folder and p.stat().st_size > 0 for p in paths)
    assert (folder / "report.md").read_text() == render_markdown(report, inline_images=False)
    assert (folder / "roc.png").read_bytes() == report.plots["roc.png"]
    assert json.loads((folder / "metrics.json").read_text()) == report.metrics
    assert len(pd.read_csv(folder / "slices.csv")) == len(report.slices)
