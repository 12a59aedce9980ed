"""``NativeModel`` answers exactly what the library's own predict answers, on both of its paths."""

from __future__ import annotations

import numpy as np
import pytest

from mlops_assets.training.native_model import NativeModel
from mlops_assets.training.trainers import TrainedModel, train_lightgbm, train_logistic_baseline
from tests.model.test_pyfunc_parity import FEATURES, synthetic


def test_single_rows_follow_the_boosters_best_iteration_before_and_after_a_batch() -> None:
    """A booster early-stopped at round 10 predicts with 10 trees, one row or many, in any order.

    LightGBM keeps one single-row predictor per booster and a batch predict rebuilds it, so
    this checks single rows both before and after a batch.
    """
    trained = train_lightgbm(synthetic(3000, seed=21), features=FEATURES, label="default", categorical=("grade",), seed=7)
    booster = trained.model
    assert booster.num_trees() > 20
    booster.best_iteration = 10  # what lgb.train leaves on an early-stopped booster
    matrix = synthetic(200, seed=22)[FEATURES].to_numpy(dtype="float64")
    expected = booster.predict(matrix)  # num_iteration=None: the best iteration
    assert np.max(np.abs(expected - booster.predict(matrix, num_iteration=-1))) > 1e-3  # 10 trees really differ from all

    native = NativeModel(trained)
    before = np.array([native.predict_one(matrix[i].tolist()) for i in range(len(matrix))])
    batch = native.predict(matrix)
    after = np.array([native.predict_one(matrix[i].tolist()) for i in range(len(matrix))])
    np.testing.assert_array_equal(before, expected)
    np.testing.assert_array_equal(batch, expected)
    np.testing.assert_array_equal(after, expected)
    with_none = [[None if np.isnan(v) else float(v) for v in row] for row in matrix[:50]]  # a missing feature as the reader gives it
    assert any(v is None for row in with_none for v in row)
    np.testing.assert_array_equal([native.predict_one(row) for row in with_none], expected[:50])


def test_sklearn_models_answer_their_positive_class_probability() -> None:
    frame = synthetic(500, seed=23)
    trained = train_logistic_baseline(frame, features=FEATURES, label="default")
    native = NativeModel(trained)
    matrix = frame[FEATURES].to_numpy(dtype="float64")
    np.testing.assert_array_equal(native.predict(matrix), trained.model.predict_proba(matrix)[:, 1])
    np.testing.assert_array_equal(native.predict(matrix[:1]), trained.model.predict_proba(matrix[:1])[:, 1])
    assert native.predict_one(matrix[0].tolist()) == trained.model.predict_proba(matrix[:1])[0, 1]


def test_a_model_listing_other_features_than_its_booster_is_refused() -> None:
    trained = train_lightgbm(synthetic(500, seed=24), features=FEATURES, label="default", seed=7)
    with pytest.raises(ValueError, match="takes 10 features, the model lists 11"):
        NativeModel(TrainedModel("lightgbm", trained.model, (*FEATURES, "extra")))
