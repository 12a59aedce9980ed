from datetime import datetime, timedelta, timezone

from mlops_assets.specs.policy import RetrainPolicy
from sensors.policy import RetrainHistory, allow_retrain

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
POLICY = RetrainPolicy(cooldown=timedelta(hours=6), max_retrains_per_day=3, breaker_after_refusals=3)


def history(starts=(), refused=()):
    return RetrainHistory(retrain_starts=[NOW - timedelta(hours=h) for h in starts], refused_in_a_row=list(refused))


def test_allowed_with_a_clean_history():
    assert allow_retrain(POLICY, history(), NOW).allowed


def test_cooldown_holds_and_says_when_it_ends():
    verdict = allow_retrain(POLICY, history(starts=[2]), NOW)
    assert not verdict.allowed and "cooldown" in verdict.why and "4h00m" in verdict.why
    assert allow_retrain(POLICY, history(starts=[6.01]), NOW).allowed


def test_daily_cap_counts_the_last_24_hours():
    capped = RetrainPolicy(cooldown=timedelta(0), max_retrains_per_day=3)
    assert not allow_retrain(capped, history(starts=[7, 12, 20]), NOW).allowed
    assert allow_retrain(capped, history(starts=[7, 12, 25]), NOW).allowed


def test_circuit_breaker_after_n_refusals_in_a_row_names_them():
    verdict = allow_retrain(POLICY, history(refused=["4", "5", "6"]), NOW)
    assert not verdict.allowed and "circuit breaker open" in verdict.why and "v4, v5, v6" in verdict.why
    assert allow_retrain(POLICY, history(refused=["5", "6"]), NOW).allowed
