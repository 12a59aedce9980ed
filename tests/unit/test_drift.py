import json
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy.stats import ks_2samp

from mlops_assets.monitoring.drift import DriftAssessment, ReferenceProfile, assess_drift, build_profile, holm, psi
from mlops_assets.specs.policy import RetrainPolicy

RNG = np.random.default_rng(0)
ANY_SIZE = RetrainPolicy(drift_min_rows=1)


def judged(profile: ReferenceProfile, frame) -> dict:
    return {t.feature: t for t in assess_drift(profile, frame, policy=ANY_SIZE).features}


def test_psi_against_a_hand_computed_example():
    # (0.7-0.5)*ln(0.7/0.5) + (0.3-0.5)*ln(0.3/0.5) = 0.2*0.33647 + 0.2*0.51083 = 0.169460
    assert psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(0.2 * math.log(1.4) - 0.2 * math.log(0.6), abs=1e-12)
    assert psi([0.25] * 4, [0.25] * 4) == 0.0


def test_holm_against_a_hand_computed_example():
    # sorted 0.01, 0.02, 0.04 (x3, x2, x1) -> 0.03, 0.04, 0.04 (monotone), put back in input order
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


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
    assert judged(profile, pd.DataFrame({"x": current}))["x"].ks == pytest.approx(ks_2samp(reference, current).statistic, abs=tolerance)


@pytest.mark.parametrize("reference_rows, rows", [(40_000, 2_000), (600, 500), (2_000, 20_000)])
def test_p_value_is_scipys_asymptotic_one_from_both_sample_sizes(reference_rows, rows):
    """The p-value needs both sizes: n·m / (n + m) rows of evidence, not the window's alone (11x too many in the last case)."""
    rng = np.random.default_rng(reference_rows + rows)
    effective = reference_rows * rows / (reference_rows + rows)
    reference, current = rng.normal(0, 1, reference_rows), rng.normal(3 / effective**0.5, 1, rows)  # p around 0.01-0.1
    profile = build_profile(pd.DataFrame({"x": reference}), ["x"])
    ours = judged(profile, pd.DataFrame({"x": current}))["x"].p_value
    scipy = ks_2samp(reference, current, method="asymp").pvalue
    # never below scipy's: the gap at the grid is at most the full D, and Kolmogorov's limit is above scipy's kstwo
    assert 1 <= ours / scipy < 2, (ours, scipy)


def test_same_distribution_is_stable_and_a_shift_is_drift():
    reference = pd.DataFrame({"a": RNG.normal(0, 1, 50_000), "b": RNG.normal(5, 2, 50_000)})
    profile = build_profile(reference, ["a", "b"])
    same = judged(profile, pd.DataFrame({"a": RNG.normal(0, 1, 20_000), "b": RNG.normal(5, 2, 20_000)}))
    assert all(not r.drifted and r.psi < 0.01 and r.ks < 0.02 for r in same.values())
    shifted = judged(profile, pd.DataFrame({"a": RNG.normal(1.0, 1, 20_000), "b": RNG.normal(5, 2, 20_000)}))
    assert shifted["a"].drifted and shifted["a"].psi > 0.25
    assert not shifted["b"].drifted


def test_a_jump_in_missing_values_is_drift_on_psi_and_ks():
    values = RNG.normal(0, 1, 20_000)
    profile = build_profile(pd.DataFrame({"x": values}), ["x"])
    holes = values.copy()
    holes[: len(holes) // 2] = np.nan
    result = judged(profile, pd.DataFrame({"x": holes}))["x"]
    assert result.missing_share == pytest.approx(0.5) and result.reference_missing_share == 0.0
    assert result.drifted and result.ks == pytest.approx(0.5, abs=0.01)  # missing counts as a value above all others
    everything_missing = judged(profile, pd.DataFrame({"x": np.full(1_000, np.nan)}))["x"]
    assert everything_missing.drifted and everything_missing.ks == pytest.approx(1.0)
    half = RNG.uniform(0, 1, 20_000)
    half[::2] = np.nan
    # filled where half was missing, over twice the range: the CDFs agree up to 1, and differ by 0.5 only at "missing"
    refilled = judged(build_profile(pd.DataFrame({"x": half}), ["x"]), pd.DataFrame({"x": RNG.uniform(0, 2, 20_000)}))["x"]
    assert refilled.ks == pytest.approx(0.5, abs=0.01)


def test_the_same_share_of_missing_values_is_stable():
    """The reference bins are weighted by the present share: unweighted, PSI would be ~0.045 here."""
    def sample(n: int) -> np.ndarray:
        values = RNG.normal(0, 1, n)
        values[RNG.random(n) < 0.2] = np.nan
        return values

    profile = build_profile(pd.DataFrame({"x": sample(50_000)}), ["x"])
    result = judged(profile, pd.DataFrame({"x": sample(20_000)}))["x"]
    assert result.psi < 0.005 and result.ks < 0.02 and not result.drifted


def test_polars_input_and_json_round_trip():
    frame = pl.DataFrame({"x": RNG.normal(0, 1, 5_000), "y": [None, 1.0, 2.0, 3.0, 4.0] * 1_000})
    profile = build_profile(frame, ["x", "y"], scores=RNG.random(5_000))
    assert ReferenceProfile.from_json(profile.to_json()) == profile
    assert profile.features[1].missing_share == pytest.approx(0.2)
    assessment = assess_drift(profile, frame, policy=ANY_SIZE, scores=RNG.random(5_000))
    assert [r.feature for r in assessment.features] == ["x", "y"] and assessment.prediction is not None
    assert DriftAssessment.from_json(assessment.to_json()) == assessment
    assert DriftAssessment.from_dict(json.loads(json.dumps(assessment.to_dict()))) == assessment  # as the report stores it


def test_errors_name_the_problem():
    profile = build_profile(pd.DataFrame({"x": [1.0, 2.0]}), ["x"])
    with pytest.raises(ValueError, match=r"lacks profiled features \['x'\]"):
        assess_drift(profile, pd.DataFrame({"y": [1.0]}), policy=ANY_SIZE)
    with pytest.raises(ValueError, match="no day column 'day'"):
        assess_drift(profile, pd.DataFrame({"x": [1.0]}), policy=ANY_SIZE, day_column="day")
    with pytest.raises(ValueError, match="scores has 2 values for a window of 1 rows"):
        assess_drift(profile, pd.DataFrame({"x": [1.0]}), policy=ANY_SIZE, scores=np.array([0.1, 0.2]))
    empty = assess_drift(profile, pd.DataFrame(), policy=ANY_SIZE)  # no rows: nothing to judge, whatever the columns
    assert not empty.fired and empty.reason.startswith("not enough rows: 0")
