"""`assess_drift`'s rules, each on a stream where breaking that rule alone changes the verdict.

The stream has the kinds of inputs real models read: continuous (lognormal, rounded normal),
a share with missing values, counts, a categorical code, a price and a base rate fixed for
the day, and a calendar field. A window is 7 days of 400 rows.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import norm

from domains.credit import CREDIT_MODEL
from mlops_assets.errors import ConfigurationError
from mlops_assets.monitoring.drift import CONSTANT_WITHIN_DAY, EXEMPT, NO_SCORES, PREDICTION, assess_drift, build_profile
from mlops_assets.specs.policy import RetrainPolicy

FEATURES = ["income", "age", "utilisation", "inquiries", "segment", "price", "base_rate", "weekday"]
DAILY = {"price": CONSTANT_WITHIN_DAY, "base_rate": CONSTANT_WITHIN_DAY, "weekday": CONSTANT_WITHIN_DAY}
POLICY = RetrainPolicy()  # PSI 0.25, 2 features, 7 days, 500 rows, p 0.01
ROWS_PER_DAY = 400


def stream(seed: int, days: int, *, start: str = "2021-01-04", price: float = 100.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    n = days * ROWS_PER_DAY
    utilisation = rng.beta(2, 5, n)
    utilisation[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "day": np.repeat(dates.strftime("%Y-%m-%d"), ROWS_PER_DAY),
        "income": rng.lognormal(10, 0.5, n),
        "age": rng.normal(40, 10, n).round(),
        "utilisation": utilisation,
        "inquiries": rng.poisson(1.5, n).astype(float),
        "segment": rng.integers(0, 5, n).astype(float),
        "price": np.repeat(rng.normal(price, 5, days), ROWS_PER_DAY),  # one price a day
        "base_rate": np.repeat(rng.normal(5, 0.5, days), ROWS_PER_DAY),  # and one rate
        "weekday": np.repeat(dates.dayofweek, ROWS_PER_DAY).astype(float),  # a calendar field
    })  # fmt: skip


def score(frame: pd.DataFrame) -> np.ndarray:
    """A model that leans on age and inquiries."""
    return expit((frame["age"].to_numpy() - 40) / 8 + frame["inquiries"].to_numpy() - 1.5)


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return stream(0, 120)


@pytest.fixture(scope="module")
def profile(training):
    return build_profile(training, FEATURES, scores=score(training))


def windows(frame: pd.DataFrame, days: int = 7):
    dates = sorted(frame["day"].unique())
    for end in range(days, len(dates) + 1):
        yield frame[frame["day"].isin(dates[end - days : end])]


def test_a_stationary_stream_never_fires(profile):
    """(i) 54 windows of a new seed: the daily price and rate and the weekday are skipped, nothing else drifts.

    Tested, a week's 7 prices and 7 rates would each look drifted from the training's 120.
    """
    verdicts = [assess_drift(profile, w, policy=POLICY, day_column="day", scores=score(w)) for w in windows(stream(1, 60))]
    assert len(verdicts) == 54
    assert not [v.reason for v in verdicts if v.fired]
    assert all(dict(v.skipped) == DAILY for v in verdicts)
    assert all(v.prediction is not None and not v.prediction.drifted for v in verdicts)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_the_p_value_counts_the_references_own_sampling(seed):
    """A profile from few rows is itself noisy: with n·m / (n + m) the window is not 'drifted' from it; with n alone it is."""
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(10)]
    small = build_profile(pd.DataFrame(rng.normal(0, 1, (1_000, 10)), columns=names), names)
    for _ in range(5):
        window = pd.DataFrame(rng.normal(0, 1, (8_000, 10)), columns=names)
        verdict = assess_drift(small, window, policy=RetrainPolicy(psi_threshold=0.0))  # the KS test alone decides
        assert not verdict.fired, verdict.reason


def test_p_values_of_a_stationary_stream_are_not_too_small_on_discrete_features(profile):
    """Rounded ages, counts, codes and the scores they make: 100 independent windows, p < 0.05 in at most ~5 %.

    A KS statistic read off an interpolated reference CDF saw the steps of discrete features as
    drift: p < 0.05 in 13 % of windows for age and 19 % for the scores.
    """
    p_values: dict[str, list[float]] = {}
    for seed in range(100, 200):
        window = stream(seed, 7)
        verdict = assess_drift(profile, window, policy=POLICY, day_column="day", scores=score(window))
        for test in (*verdict.features, verdict.prediction):
            p_values.setdefault(test.feature, []).append(test.p_value)
    too_small = {name: float(np.mean(np.asarray(p) < 0.05)) for name, p in p_values.items()}
    assert max(too_small.values()) <= 0.08, too_small


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(income=frame["income"] * 1.8, age=frame["age"] + 10)


def test_a_covariate_shift_fires_and_names_the_features(profile):
    """(ii)"""
    window = shifted(stream(5, 7))
    verdict = assess_drift(profile, window, policy=POLICY, day_column="day", scores=score(window))
    assert verdict.fired
    assert [f.feature for f in verdict.features if f.drifted] == ["income", "age"]
    assert verdict.reason.startswith("2 of 5 drifted over 2,800 rows") and "income (PSI" in verdict.reason and "age (PSI" in verdict.reason


def test_features_constant_within_each_day_are_skipped_not_tested(profile):
    """(iii) three days at a new price level, and three weekdays only: both would drift if tested."""
    window = stream(6, 3, price=130.0)
    verdict = assess_drift(profile, window, policy=POLICY, day_column="day")
    assert not verdict.fired, verdict.reason
    assert dict(verdict.skipped) == DAILY
    assert {f.feature for f in verdict.features} == {"income", "age", "utilisation", "inquiries", "segment"}
    one_day = assess_drift(profile, window[window["day"] == window["day"].iloc[0]], policy=POLICY, day_column="day")
    assert not one_day.skipped  # a single day cannot tell a daily value from a constant feature: it is tested


def test_exempt_features_are_skipped_with_the_reason(profile):
    """(iii) the covariate shift of (ii) on two features the spec exempts."""
    window = shifted(stream(5, 7))
    verdict = assess_drift(profile, window, policy=POLICY, exempt=("income", "age", "not_profiled"), day_column="day")
    assert not verdict.fired, verdict.reason
    assert dict(verdict.skipped) == {"income": EXEMPT, "age": EXEMPT, **DAILY}
    assert "income" not in {f.feature for f in verdict.features}
    no_columns = assess_drift(profile, window.drop(columns=["income", "age"]), policy=POLICY, exempt=("income", "age"), day_column="day")
    assert not no_columns.fired  # an exempt feature need not be in the window at all


def test_too_few_rows_never_fire(profile):
    """(iv) the shift of (ii) on 300 rows: the test would call it, the rule says the sample is too small to act on."""
    window = shifted(stream(5, 7)).sample(300, random_state=0).sort_values("day")
    verdict = assess_drift(profile, window, policy=POLICY, day_column="day")
    assert not verdict.fired and verdict.reason == "not enough rows: 300 in the window, 500 needed (drift_min_rows)"
    assert {f.feature for f in verdict.features if f.psi >= POLICY.psi_threshold and f.p_adjusted < POLICY.drift_p_value} == {"income", "age"}


def test_a_tiny_shift_on_a_huge_sample_is_significant_but_too_small_to_fire():
    """(v) 0.05 standard deviations over 200,000 rows: p is tiny, the effect (PSI) is not worth a retrain."""
    rng = np.random.default_rng(7)
    reference = build_profile(pd.DataFrame({"a": rng.normal(0, 1, 200_000), "b": rng.normal(0, 1, 200_000)}), ["a", "b"])
    window = pd.DataFrame({"a": rng.normal(0.05, 1, 200_000), "b": rng.normal(0.05, 1, 200_000)})
    verdict = assess_drift(reference, window, policy=POLICY)
    assert all(f.p_adjusted < 1e-10 and f.psi < 0.01 for f in verdict.features)
    assert not verdict.fired and verdict.reason.startswith("0 of 2 drifted")


def test_many_noise_features_at_p_just_below_alpha_do_not_fire_after_the_correction():
    """(vi) 20 features, each shifted so its raw p is 0.001-0.01: 20 tests at 0.01 expect such p-values by chance."""
    rng = np.random.default_rng(8)
    names = [f"x{i}" for i in range(20)]
    reference = build_profile(pd.DataFrame(rng.normal(0, 1, (50_000, 20)), columns=names), names)
    even = norm.ppf((np.arange(1_000) + 0.5) / 1_000)  # 1,000 evenly spread quantiles: D is the shift's, no sampling noise
    window = pd.DataFrame({name: even + shift for name, shift in zip(names, np.linspace(0.135, 0.15, 20), strict=True)})
    policy = RetrainPolicy(psi_threshold=0.01)  # PSI is ~0.02 here: the p-value decides
    verdict = assess_drift(reference, window, policy=policy)
    assert all(0.001 < f.p_value < policy.drift_p_value for f in verdict.features), [f.p_value for f in verdict.features]
    assert not verdict.fired and not any(f.drifted for f in verdict.features)
    real = window.assign(x0=even + 0.6, x1=even - 0.6)  # two real shifts among the noise are still found
    found = assess_drift(reference, real, policy=policy)
    assert found.fired and [f.feature for f in found.features if f.drifted] == ["x0", "x1"]


def test_prediction_drift_is_reported_and_counts_only_if_the_policy_says_so(profile):
    """(vii) age moves the scores: one input drifted (2 needed) and the prediction drifted."""
    window = stream(9, 7).pipe(lambda f: f.assign(age=f["age"] + 10))
    verdict = assess_drift(profile, window, policy=POLICY, day_column="day", scores=score(window))
    assert verdict.prediction is not None and verdict.prediction.feature == PREDICTION and verdict.prediction.drifted
    assert [f.feature for f in verdict.features if f.drifted] == ["age"]
    assert not verdict.fired and "the prediction drifted too" in verdict.reason and "does not count" in verdict.reason
    counting = assess_drift(profile, window, policy=RetrainPolicy(drift_counts_prediction=True), day_column="day", scores=score(window))
    assert counting.fired and counting.reason.startswith("2 of 6 drifted") and "prediction (PSI" in counting.reason


def test_a_profile_logged_before_scores_were_profiled_still_loads_and_says_so(profile, training):
    """(viii) the JSON of an older champion has no "scores"."""
    old = json.dumps({"features": json.loads(profile.to_json())["features"]})
    loaded = type(profile).from_json(old)
    assert loaded.scores is None and loaded.features == profile.features
    window = stream(10, 7)
    verdict = assess_drift(loaded, window, policy=POLICY, day_column="day", scores=score(window))
    assert verdict.prediction is None and (PREDICTION, NO_SCORES) in verdict.skipped and not verdict.fired


def test_the_spec_and_policy_fields_say_what_is_wrong():
    with pytest.raises(ConfigurationError, match=r"drift_exempt=\['weekday'\] must be a tuple of feature names"):
        replace(CREDIT_MODEL, drift_exempt=["weekday"])
    assert replace(CREDIT_MODEL, drift_exempt=("weekday",)).drift_exempt == ("weekday",)  # not a source column: allowed
    for field, value, fix in (("drift_window_days", 0, "at least 1 day"), ("drift_min_rows", 0, "at least 1 row"), ("drift_p_value", 1.0, r"in \(0, 1\)")):
        with pytest.raises(ConfigurationError, match=f"{field}={value} must be {fix}"):
            RetrainPolicy(**{field: value})
