import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy.stats import ks_2samp

from mlops_assets.monitoring.drift import ReferenceProfile, build_profile, drift_table, psi

RNG = np.random.default_rng(0)


def test_psi_against_a_hand_computed_example():
    # (0.7-0.5)*ln(0.7/0.5) + (0.3-0.5)*ln(0.3/0.5) = 0.2*0.33647 + 0.2*0.51083 = 0.169460
    assert psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(0.2 * math.log(1.4) - 0.2 * math.log(0.6), abs=1e-12)
    assert psi([0.25] * 4, [0.25] * 4) == 0.0


@pytest.mark.parametrize(
    "reference, current, tolerance",
    [
        (RNG.normal(0, 1, 40_000), RNG.normal(0.3, 1, 15_000), 0.005),
        (RNG.lognormal(10, 1, 40_000), RNG.lognormal(10.1, 1.1, 15_000), 0.005),
        (RNG.integers(0, 5, 40_000).astype(float), RNG.integers(0, 6, 15_000).astype(float), 0.005),
        (RNG.poisson(1.2, 40_000).astype(float), RNG.poisson(1.5, 15_000).astype(float), 0.01),  # 101-point grid on a long tail
    ],
    ids=["normal", "lognormal", "integers", "poisson"],
)
def test_ks_from_stored_quantiles_matches_scipy(reference, current, tolerance):
    profile = build_profile(pd.DataFrame({"x": reference}), ["x"])
    [result] = drift_table(profile, pd.DataFrame({"x": current}))
    assert result.ks == pytest.approx(ks_2samp(reference, current).statistic, abs=tolerance)


def test_same_distribution_is_stable_and_a_shift_is_drift():
    reference = pd.DataFrame({"a": RNG.normal(0, 1, 50_000), "b": RNG.normal(5, 2, 50_000)})
    profile = build_profile(reference, ["a", "b"])
    same = drift_table(profile, pd.DataFrame({"a": RNG.normal(0, 1, 20_000), "b": RNG.normal(5, 2, 20_000)}))
    assert all(r.verdict == "stable" and r.psi < 0.01 and r.ks < 0.02 for r in same)
    shifted = {r.feature: r for r in drift_table(profile, pd.DataFrame({"a": RNG.normal(1.0, 1, 20_000), "b": RNG.normal(5, 2, 20_000)}))}
    assert shifted["a"].verdict == "drift" and shifted["a"].psi > 0.25
    assert shifted["b"].verdict == "stable"


def test_a_jump_in_missing_values_is_drift():
    values = RNG.normal(0, 1, 20_000)
    profile = build_profile(pd.DataFrame({"x": values}), ["x"])
    holes = values.copy()
    holes[: len(holes) // 2] = np.nan
    [result] = drift_table(profile, pd.DataFrame({"x": holes}))
    assert result.missing_share == pytest.approx(0.5) and result.reference_missing_share == 0.0
    assert result.verdict == "drift"


def test_polars_input_and_json_round_trip():
    frame = pl.DataFrame({"x": RNG.normal(0, 1, 5_000), "y": [None, 1.0, 2.0, 3.0, 4.0] * 1_000})
    profile = build_profile(frame, ["x", "y"])
    assert ReferenceProfile.from_json(profile.to_json()) == profile
    assert profile.features[1].missing_share == pytest.approx(0.2)
    assert [r.feature for r in drift_table(profile, frame)] == ["x", "y"]


def test_errors_name_the_problem():
    profile = build_profile(pd.DataFrame({"x": [1.0, 2.0]}), ["x"])
    with pytest.raises(ValueError, match=r"lacks profiled features \['x'\]"):
        drift_table(profile, pd.DataFrame({"y": [1.0]}))
    with pytest.raises(ValueError, match="no rows"):
        drift_table(profile, pd.DataFrame({"x": []}))
