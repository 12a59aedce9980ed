"""Specs check themselves, and bad combinations fail when the definitions load, with the fix in the message."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domains.access_requests import ACCESS_MODEL, ACCESS_REQUESTS
from domains.credit import APPLICATIONS, CREDIT_MODEL
from mlops_assets import Column, ConfigurationError, LabelContract, ModelSpec, SourceSpec, build_definitions, load_profile
from mlops_assets.validated.expectations import BETWEEN, IN_SET, NOT_NULL, UNIQUE, rules_for

EVENTS = (Column("event_id", "int", unique=True), Column("customer", "str"), Column("amount", "float", minimum=0),
          Column("ts", "timestamp"))  # fmt: skip


def source(**changes) -> SourceSpec:
    return SourceSpec(**{"name": "orders", "columns": EVENTS, "id_column": "event_id", "event_time": "ts",
                         "labels": LabelContract("churned"), **changes})  # fmt: skip


def test_a_source_checks_its_contract():
    with pytest.raises(ConfigurationError, match="lower_snake_case"):
        source(name="Orders")
    with pytest.raises(ConfigurationError, match="'order_id' is not one of its columns.*add Column\\('order_id'"):
        source(id_column="order_id")
    with pytest.raises(ConfigurationError, match="event_time column 'amount' must be of kind 'timestamp'"):
        source(event_time="amount")
    with pytest.raises(ConfigurationError, match="must be declared unique=True"):
        source(columns=(Column("event_id", "int"), *EVENTS[1:]))
    with pytest.raises(ConfigurationError, match="label 'amount' is also a landing column"):
        source(labels=LabelContract("amount"))
    with pytest.raises(ConfigurationError, match=r"columns \['ts'\] are declared twice"):
        source(columns=(*EVENTS, Column("ts", "timestamp")))
    with pytest.raises(ConfigurationError, match="kind='decimal' must be one of int, float, str, timestamp"):
        Column("x", "decimal")
    for kind, length in (("int", 5), ("str", 0)):
        with pytest.raises(ConfigurationError, match=f"max_length={length} needs a str column"):
            Column("x", kind, max_length=length)
    with pytest.raises(ConfigurationError, match="positive=2 is not one of values"):
        LabelContract("y", values=(0, 1), positive=2)


def test_a_model_checks_itself_against_its_source():
    with pytest.raises(ConfigurationError, match="label='refunded' is not in the label contract of source 'orders'.*use label='churned'"):
        ModelSpec(name="churn", source=source(), feature_service="churn_v1", entity_keys=("customer",), label="refunded")
    with pytest.raises(ConfigurationError, match=r"entity_keys \['customer_id'\] are not columns of source 'orders'"):
        ModelSpec(name="churn", source=source(), feature_service="churn_v1", entity_keys=("customer_id",))
    with pytest.raises(ConfigurationError, match="lower_snake_case"):
        ModelSpec(name="Churn Model", source=source(), feature_service="churn_v1", entity_keys=("customer",))
    with pytest.raises(ConfigurationError, match="holdout_days=0"):
        ModelSpec(name="churn", source=source(), feature_service="churn_v1", entity_keys=("customer",), holdout_days=0)
    with pytest.raises(ConfigurationError, match="unknown_request_fields='drop' must be one of reject, ignore"):
        ModelSpec(name="churn", source=source(), feature_service="churn_v1", entity_keys=("customer",), unknown_request_fields="drop")
    model = ModelSpec(name="churn", source=source(), feature_service="churn_v1", entity_keys=("customer",))
    assert (model.label, model.events.to_user_string(), model.inputs.to_user_string()) == ("churned", "labelled_orders", "validated_orders")


def test_the_suite_is_derived_from_the_contract():
    by_kind = {}
    for rule in rules_for(EVENTS):
        by_kind.setdefault(rule.expectation, []).append(rule.column)
    assert by_kind[NOT_NULL] == ["event_id", "customer", "amount", "ts"]
    assert by_kind[UNIQUE] == ["event_id"] and by_kind[BETWEEN] == ["amount"] and IN_SET not in by_kind
    access = rules_for(ACCESS_REQUESTS.columns)
    assert {r.column for r in access if r.expectation == BETWEEN} == {c.name for c in ACCESS_REQUESTS.columns if c.kind == "int"}
    assert rules_for(APPLICATIONS.columns)[0].required == tuple(APPLICATIONS.dtypes)


@pytest.fixture
def profile(tmp_path):
    return load_profile({"MLOPS_HOME": str(tmp_path)})


def test_the_shipped_domains_build_side_by_side(profile):
    graph = build_definitions(profile=profile).resolve_asset_graph()
    names = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for model in ("credit", "access"):
        assert {f"{model}/training_set", f"{model}/deployed_endpoint", f"{model}/live_performance"} <= names
    for src in ("applications", "access_requests"):
        assert {f"raw_{src}", f"validated_{src}", f"quarantined_{src}", f"{src}_labels", f"validated_{src}_labels",
                f"quarantined_{src}_labels", f"labelled_{src}"} <= names
    assert graph.get(ACCESS_MODEL.events).parent_keys == {ACCESS_REQUESTS.key("validated"), ACCESS_REQUESTS.key("validated_labels")}
    assert graph.get(ACCESS_REQUESTS.key("validated_labels")).parent_keys == {ACCESS_REQUESTS.key("labels"), ACCESS_REQUESTS.key("validated")}
    from mlops_assets import keys

    feast_inputs = graph.get(keys.FEATURE_VIEWS).parent_keys
    assert feast_inputs == {APPLICATIONS.key("reference"), *(t.key for t in ACCESS_REQUESTS.feature_tables)}
    assert all(graph.get(t.key).parent_keys == {ACCESS_MODEL.events} for t in ACCESS_REQUESTS.feature_tables)


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([replace(CREDIT_MODEL, feature_service="credit_model_v9")],
         "feature service 'credit_model_v9' is not declared in the feature repo .*add FeatureService\\(name='credit_model_v9'"),
        ([CREDIT_MODEL, replace(ACCESS_MODEL, name="credit")], r"model names \['credit'\] are used twice"),
        ([replace(CREDIT_MODEL, entity_keys=("zipcode",), optional_entity_keys=(), sticky_keys=())],
         r"feature view 'credit_history' of service 'credit_model_v1' is looked up by \['dob_ssn'\].*add them"),
        ([CREDIT_MODEL, replace(ACCESS_MODEL, source=replace(ACCESS_REQUESTS, name="applications"))],
         "two different sources are named 'applications'"),
        ([replace(ACCESS_MODEL, feature_service="credit_model_v1", entity_keys=("resource",), optional_entity_keys=(), sticky_keys=())],
         "on-demand view 'application_features' takes request fields \\['person_age'.*which source 'access_requests' does not have"),
    ],
    ids=["unknown feature service", "duplicate model name", "feature view key not an entity key", "two sources one name",
         "feature service of another domain"],
)  # fmt: skip
def test_a_bad_combination_fails_when_the_definitions_load(profile, models, message):
    with pytest.raises(ConfigurationError, match=message):
        build_definitions(models, profile=profile)
