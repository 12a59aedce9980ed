"""What runs on its own and how fresh it must be, as the specs give it to the assets; no instance needed."""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
import pytest

from domains.credit import CREDIT_MODEL
from mlops_assets import ConfigurationError, keys
from mlops_assets.automation import group_runs
from mlops_assets.conditions import ENDPOINT_FRESHNESS


def test_the_spec_gives_followers_a_condition_and_the_endpoint_a_freshness_policy():
    drift = CREDIT_MODEL.asset_attributes("drift_report", "monitoring")
    assert drift["automation_condition"].get_label() == "follows upstream"
    assert "all_deps_blocking_checks_passed" in str(drift["automation_condition"])
    assert CREDIT_MODEL.asset_attributes("deployed_endpoint", "deployment")["freshness_policy"] == ENDPOINT_FRESHNESS
    training = CREDIT_MODEL.asset_attributes("candidate_model", "training")
    assert "automation_condition" not in training and "freshness_policy" not in training  # the retrain policy decides


def test_the_training_data_age_limit_is_at_least_the_label_delay():
    assert CREDIT_MODEL.max_training_data_age_days == 60
    delay = CREDIT_MODEL.source.labels.delay_days
    assert replace(CREDIT_MODEL, max_training_data_age_days=delay).max_training_data_age_days == delay
    with pytest.raises(ConfigurationError, match=f"max_training_data_age_days={delay - 1} must be at least 1 and at least the label delay"):
        replace(CREDIT_MODEL, max_training_data_age_days=delay - 1)


def test_requested_days_run_as_contiguous_ranges():
    daily = dg.DailyPartitionsDefinition(start_date="2021-01-01")

    @dg.asset(key=keys.model_key("credit", "drift_report"), partitions_def=daily)
    def drift() -> None: ...

    @dg.asset
    def history() -> None: ...

    requested = {drift.key: {"2021-03-01", "2021-03-02", "2021-03-05"}, history.key: {None}}
    assert group_runs(dg.Definitions(assets=[drift, history]), requested) == {
        ("2021-03-01", "2021-03-02"): [drift.key], ("2021-03-05", "2021-03-05"): [drift.key], None: [history.key]}  # fmt: skip


def test_a_tick_runs_what_the_conditions_request_once():
    from mlops_assets.automation import tick
    from mlops_assets.conditions import AUTOMATION_SENSOR, automation_sensor, follows
    from mlops_assets.provenance import AUTOMATIC_TAG
    from mlops_assets.runs import QUIET

    @dg.asset
    def labelled() -> None: ...

    @dg.asset(deps=[labelled], automation_condition=follows())
    def history() -> None: ...

    defs = dg.Definitions(assets=[labelled, history], sensors=[automation_sensor()])
    instance = dg.DagsterInstance.ephemeral()
    assert [o.message for o in tick(defs, instance, [])] == ["nothing follows: no upstream updated"]  # the baseline
    defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, asset_selection=[labelled.key], run_config=QUIET)
    [ran] = tick(defs, instance, [AUTOMATION_SENSOR])  # named: evaluated there, not a second time after
    assert (ran.message, ran.success) == ("history", True)
    assert instance.get_run_by_id(ran.run_id).tags[AUTOMATIC_TAG] == "true"
    assert [o.run_id for o in tick(defs, instance, [])] == [None]
