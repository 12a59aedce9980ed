"""Reasons to retrain: relative new-label threshold and the live-performance drop."""

from datetime import datetime, timedelta, timezone

import pytest

from mlops_assets.specs.policy import RetrainPolicy
from sensors.reasons import new_labels_needed, new_labels_reason, performance_reason, schedule_reason

POLICY = RetrainPolicy(min_new_labels=100, min_new_label_share=0.1, max_live_drop=0.05, min_live_labels=200)


@pytest.mark.parametrize("training_rows, needed", [(500, 100), (20_000, 2_000)])
def test_new_labels_threshold_is_relative_to_the_training_set_with_a_floor(training_rows, needed):
    assert new_labels_needed(POLICY, training_rows) == needed
    below = new_labels_reason(POLICY, new_rows=needed - 1, training_rows=training_rows, version="3")
    assert not below.fired and f"need {needed}" in below.why
    at = new_labels_reason(POLICY, new_rows=needed, training_rows=training_rows, version="3")
    assert at.fired and "since v3" in at.why


def test_a_day_of_500_labels_does_not_retrain_a_model_trained_on_20000_rows():
    assert not new_labels_reason(POLICY, new_rows=500, training_rows=20_000, version="1").fired


@pytest.mark.parametrize("live, outcomes, fired", [(0.84, 300, True), (0.86, 300, False), (0.70, 199, False)])
def test_performance_drop_beyond_the_bound_on_enough_outcomes(live, outcomes, fired):
    reason = performance_reason(POLICY, metric="roc_auc", live=live, holdout=0.90, outcomes=outcomes, higher_is_better=True, version="2")
    assert reason.fired is fired


def test_performance_drop_for_a_lower_is_better_metric():
    assert performance_reason(POLICY, metric="log_loss", live=0.50, holdout=0.40, outcomes=300, higher_is_better=False, version="2").fired
    assert not performance_reason(POLICY, metric="log_loss", live=0.30, holdout=0.40, outcomes=300, higher_is_better=False, version="2").fired


def test_the_schedule_retrains_only_a_champion_whose_data_is_old_enough():
    """A backstop, not a cron job: a weekly retrain of a fresh champion would only compete with the other reasons."""
    policy, now = RetrainPolicy(scheduled_retrain_age=timedelta(days=28)), datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
    fresh = schedule_reason(policy, champion_through=now - timedelta(days=27, hours=23), now=now)
    assert not fresh.fired and "27 days old" in fresh.why and "scheduled_retrain_age" in fresh.why
    assert schedule_reason(policy, champion_through=now - timedelta(days=28), now=now).fired
    assert schedule_reason(policy, champion_through=None, now=now).fired  # nothing serves yet
    assert schedule_reason(RetrainPolicy(scheduled_retrain_age=timedelta(0)), champion_through=now, now=now).fired  # every week
    # a challenger refused on data 3 days old checked the champion against it: the backstop waits 28 days from there
    refused = schedule_reason(policy, champion_through=now - timedelta(days=40), now=now, challenged_through=now - timedelta(days=3))
    assert not refused.fired and "challenged on data through" in refused.why and "3 days old" in refused.why
    assert schedule_reason(policy, champion_through=now - timedelta(days=40), now=now, challenged_through=now - timedelta(days=28)).fired
