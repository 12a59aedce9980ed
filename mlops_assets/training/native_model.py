"""A trained model's probabilities from its native library, the way the endpoint calls it.

For one LightGBM row, ``Booster.predict`` rebuilds a predictor from a parameter string on
every call (params deep-copied, a new C++ predictor, OpenMP set up): 21-27 us for a
74-tree model on this machine. LightGBM's single-row "fast" C API builds that predictor
once and then costs 7 us a row. Batches keep ``Booster.predict``, on one OpenMP thread:
on a request-sized matrix, more threads only fight the event loop (measured: 1-thread
p99 11.4-12.5 ms -> 1.3-3.1 ms). ``tests/model/test_pyfunc_parity.py`` holds both paths
equal to MLflow's pyfunc.
"""

from __future__ import annotations

import ctypes
import math
import struct
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlops_assets.training.trainers import TrainedModel

# LightGBM's c_api.h constants
_PREDICT_NORMAL = 0
_DTYPE_FLOAT64 = 1


class NativeModel:
    """Probabilities of the positive class: ``predict(matrix)`` for a batch, ``predict_one(values)`` for one row; thread-safe."""

    def __init__(self, model: TrainedModel) -> None:
        self.features = model.features
        self._model = model
        self._single: _SingleRowPredictor | None = _SingleRowPredictor(model.model, len(model.features)) if model.flavor == "lightgbm" else None

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """``matrix`` holds one row per request, columns in ``features`` order, float64."""
        return self._model.predict_matrix(matrix, threads=1)

    def predict_one(self, values: Sequence[float | None]) -> float:
        """One row's probability from its values in ``features`` order, None for missing: no matrix built."""
        if self._single is not None:
            return self._single(values)
        return float(self._model.predict_matrix(np.array([values], dtype="float64"))[0])


class _SingleRowPredictor:
    """LightGBM's ``LGBM_BoosterPredictForMatSingleRowFast`` for one booster, freed with this object.

    The C side locks the booster per call, so one instance serves every thread.
    """

    def __init__(self, booster: Any, n_features: int) -> None:
        from lightgbm.basic import _LIB, _c_str, _safe_call  # the library handle lightgbm itself loaded

        if booster.num_feature() != n_features:
            raise ValueError(f"the booster takes {booster.num_feature()} features, the model lists {n_features}")
        self._safe_call = _safe_call
        # the row as packed doubles: bytes pass to C as a pointer to their buffer, and packing
        # 20 values takes 0.2 us where filling a ctypes double array takes 1.5 us
        self._pack = struct.Struct(f"={n_features}d").pack
        self._predict = _LIB.LGBM_BoosterPredictForMatSingleRowFast
        # what Booster.predict uses when num_iteration is None: the best iteration if training kept one, else all
        iterations = booster.best_iteration if booster.best_iteration > 0 else -1
        handle = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(iterations),
                ctypes.c_int(_DTYPE_FLOAT64),
                ctypes.c_int32(n_features),
                _c_str("num_threads=1"),
                ctypes.byref(handle),
            )
        )
        self._handle = handle
        # the config points into the booster: the finalizer keeps the booster alive until the config is freed
        weakref.finalize(self, _free, _LIB, handle, booster)

    def __call__(self, values: Sequence[float | None]) -> float:
        row = self._pack(*[math.nan if value is None else value for value in values])  # a C double[], no numpy
        score, length = ctypes.c_double(), ctypes.c_int64()
        self._safe_call(self._predict(self._handle, row, ctypes.byref(length), ctypes.byref(score)))
        return score.value


def _free(lib: Any, handle: ctypes.c_void_p, booster: Any) -> None:
    """Free the fast config; ``booster`` is only held until then."""
    lib.LGBM_FastConfigFree(handle)
