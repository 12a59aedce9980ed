"""`allow_retrain`: each rule holds a retrain back, says why, and lets it go once the rule no longer applies."""

from datetime import datetime, timedelta, timezone

from mlops_assets.specs.policy import RetrainPolicy
from sensors.policy import RetrainHistory, allow_retrain

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
POLICY = RetrainPolicy(cooldown=timedelta(hours=6), max_retrains_per_day=3, breaker_after_refusals=3, breaker_half_open_after=timedelta(days=2))


def history(starts=(), refused=(), refused_hours_ago=1.0, running=0, trained_through=None):
    return RetrainHistory(
        retrain_starts=[NOW - timedelta(hours=h) for h in starts],
        refused_in_a_row=list(refused),
        last_refused_at=NOW - timedelta(hours=refused_hours_ago) if refused else None,
        running=running,
        trained_through=trained_through,
    )


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


def test_circuit_breaker_after_n_refusals_in_a_row_names_them_and_when_it_half_opens():
    verdict = allow_retrain(POLICY, history(refused=["4", "5", "6"]), NOW)
    assert not verdict.allowed and "circuit breaker open" in verdict.why and "v4, v5, v6" in verdict.why
    assert "2026-01-12 11:00" in verdict.why  # last refusal 1 h ago + 2 days
    assert allow_retrain(POLICY, history(refused=["5", "6"]), NOW).allowed


def test_circuit_breaker_half_opens_for_one_trial_after_the_wait():
    trial = allow_retrain(POLICY, history(refused=["4", "5", "6"], refused_hours_ago=48.5), NOW)
    assert trial.allowed and "half-open" in trial.why
    # the trial's own refusal (a newer last_refused_at) closes it again for another wait
    assert not allow_retrain(POLICY, history(refused=["4", "5", "6", "7"], refused_hours_ago=0.5), NOW).allowed


def test_one_retrain_at_a_time():
    verdict = allow_retrain(POLICY, history(running=1), NOW)
    assert not verdict.allowed and "already running" in verdict.why


def test_no_retrain_on_data_the_last_retrain_already_had():
    """What coalesces the triggers of one window, and keeps a refused challenger from being trained again on the same data."""
    through = NOW - timedelta(days=1)
    same = allow_retrain(POLICY, history(trained_through=through), NOW, data_through=through)
    assert not same.allowed and "no labelled data newer" in same.why
    assert allow_retrain(POLICY, history(trained_through=through), NOW, data_through=through + timedelta(hours=1)).allowed
    assert allow_retrain(POLICY, history(), NOW, data_through=through).allowed  # nothing trained yet


def test_no_retrain_the_gate_could_not_compare_with_the_champion():
    """A refit champion saw its holdout days: a challenger must learn something newer, or the gate would only wait."""
    champion_through = datetime(2026, 1, 1, 18, 0, tzinfo=timezone.utc)
    early = RetrainHistory(retrain_starts=[], refused_in_a_row=[], champion_through=champion_through)
    for day in (14, 15):  # on the 15th it would learn only the champion's last six hours again
        held = allow_retrain(POLICY, early, NOW, data_through=datetime(2026, 1, day, 9, 0, tzinfo=timezone.utc), holdout_days=14)
        assert not held.allowed and "the gate could not compare" in held.why and "2026-01-16" in held.why
    assert allow_retrain(POLICY, early, NOW, data_through=datetime(2026, 1, 16, 9, 0, tzinfo=timezone.utc), holdout_days=14).allowed
