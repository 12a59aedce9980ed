"""What runs on its own and how fresh it must be: the automation conditions and freshness
policies that the factories give to the stages that simply follow their upstream and to
what serves (docs/decisions/0010-declarative-automation.md).

Sensors stay for the external signals (landing files) and for the retrain decision; these
conditions only make a stage catch up when its upstream was refreshed without it (a UI
materialization, a partial run, the rollout job gathering the prediction log).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg

from mlops_assets import keys
from mlops_assets.provenance import automatic_tags

if TYPE_CHECKING:
    from mlops_assets.specs.model import ModelSpec

AUTOMATION_SENSOR = "default_automation_condition_sensor"  # the name Dagster gives its own, which this one replaces

# The weekly retrain redeploys (or confirms) the endpoint every Monday: one missed week warns, two fail.
ENDPOINT_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=14), warn_window=timedelta(days=8))
# Every ingest (the arrival sensor, the nightly 02:00 schedule) refreshes the online store:
# a missed night warns (the 2 h margin covers a slow run), two fail.
ONLINE_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=2), warn_window=timedelta(hours=26))


def follows(on: Sequence[dg.AssetKey] = (), needs: Sequence[dg.AssetKey] | None = None) -> dg.AutomationCondition:
    """Dagster's `eager()` on every daily partition, never past a failed blocking check.

    `eager()` considers the newest time partition only, and replayed or late days are older
    ones, so that restriction is dropped. `all_deps_blocking_checks_passed` holds back a
    partition whose upstream failed a blocking check (a day Great Expectations rejected)
    until it passes. ``on``: the upstream assets whose updates count (default: all);
    ``needs``: those that must exist (default: all; a daily upstream always has missing days,
    so an undivided stage that follows one names what it needs).
    """
    condition = dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())
    if on:
        condition = condition.replace("any_deps_updated", dg.AutomationCondition.any_deps_updated().allow(dg.AssetSelection.assets(*on)))
    if needs is not None:
        condition = condition.replace("any_deps_missing", dg.AutomationCondition.any_deps_missing().allow(dg.AssetSelection.assets(*needs)))
    following = ", ".join(key.to_user_string() for key in on) or "any upstream"
    return (condition.with_label(f"eager on every partition, on updates of {following}")
            & dg.AutomationCondition.all_deps_blocking_checks_passed()).with_label("follows upstream")  # fmt: skip


def stage_attributes(spec: ModelSpec, stage: str) -> dict[str, Any]:
    """The automation condition or freshness policy of one model stage; {} for the rest.

    The drift report of a day follows that day's validated events (not the endpoint: a new
    champion would otherwise recompute every past day); live performance follows the
    prediction log and the outcomes; the endpoint carries the retrain cadence as freshness.
    """
    log = keys.model_key(spec.name, "prediction_log")
    table: dict[str, dict[str, Any]] = {
        "drift_report": {"automation_condition": follows(on=[spec.inputs])},
        "live_performance": {"automation_condition": follows(on=[log, spec.source.key("validated_labels")], needs=[log])},
        "deployed_endpoint": {"freshness_policy": ENDPOINT_FRESHNESS},
    }
    return table.get(stage, {})


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """The daemon's evaluator of the conditions above, on from the start (Dagster's own is created STOPPED)."""
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        run_tags=automatic_tags(f"{AUTOMATION_SENSOR}: its upstream was updated"),
        description="Runs the stages that follow their upstream (feature tables, drift reports, live performance) "
        "when it was refreshed without them; never past a failed blocking check.",
    )
