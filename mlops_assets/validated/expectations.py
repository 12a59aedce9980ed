"""The loan-application expectation suite, kept as data so docs and the UI can list the rules.

Each `Rule` knows its Great Expectations type and parameters (to build the expectation)
and how to describe a violating value in plain words (to explain a quarantined row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_assets.schema import (
    APPLICATION_COLUMNS,
    APPLICATION_KEY,
    HOME_OWNERSHIP,
    LOAN_INTENT,
)

if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.expectations import Expectation

SUITE_NAME = "loan_applications"

COLUMNS_EXIST = "expect_table_columns_to_match_set"
NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"


@dataclass(frozen=True)
class Rule:
    """One expectation of the suite: its GE type, the column it checks and its parameters."""

    expectation: str
    column: str | None = None
    bounds: tuple[float, float] | None = None
    strict_min: bool = False
    allowed: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Stable id, e.g. `expect_column_values_to_be_between(person_age)`."""
        return f"{self.expectation}({self.column})" if self.column else self.expectation

    @property
    def description(self) -> str:
        """The rule in words, for docs and the UI."""
        if self.expectation == COLUMNS_EXIST:
            return f"columns {', '.join(self.required)} exist"
        if self.expectation == NOT_NULL:
            return f"{self.column} is not null"
        if self.expectation == UNIQUE:
            return f"{self.column} is unique"
        if self.expectation == BETWEEN:
            return f"{self.column} in {self._interval}"
        return f"{self.column} in {{{', '.join(self.allowed)}}}"

    def violation(self, value: Any) -> str:
        """Why `value` breaks this row-level rule, naming field, rule and value."""
        if self.expectation == NOT_NULL:
            return f"{self.column} is null"
        if self.expectation == UNIQUE:
            return f"{self.column}={_show(value)} is duplicated"
        if self.expectation == BETWEEN:
            return f"{self.column}={_show(value)} outside {self._interval}"
        return f"{self.column}={_show(value)} not in {{{', '.join(self.allowed)}}}"

    def to_gx(self) -> Expectation:
        """The Great Expectations object for this rule."""
        import great_expectations.expectations as gxe

        kwargs: dict[str, Any] = {"column": self.column} if self.column else {}
        if self.expectation == COLUMNS_EXIST:
            kwargs |= {"column_set": list(self.required), "exact_match": False}
        elif self.expectation == BETWEEN:
            lo, hi = self._bounds
            kwargs |= {"min_value": lo, "max_value": hi, "strict_min": self.strict_min}
        elif self.expectation == IN_SET:
            kwargs |= {"value_set": list(self.allowed)}
        cls = "".join(part.capitalize() for part in self.expectation.split("_"))
        return getattr(gxe, cls)(**kwargs)

    @property
    def _bounds(self) -> tuple[float, float]:
        if self.bounds is None:
            raise ValueError(f"{self.name} needs bounds")
        return self.bounds

    @property
    def _interval(self) -> str:
        lo, hi = self._bounds
        return f"{'(' if self.strict_min else '['}{_show(lo)}, {_show(hi)}]"


def _show(value: Any) -> str:
    """Compact value text: 123.0 -> 123, strings quoted."""
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


# created_timestamp is bookkeeping; every other application column is checked for nulls.
_NOT_NULL_COLUMNS = tuple(c for c in APPLICATION_COLUMNS if c != "created_timestamp")

RULES: tuple[Rule, ...] = (
    Rule(COLUMNS_EXIST, required=tuple(APPLICATION_COLUMNS)),
    *(Rule(NOT_NULL, column) for column in _NOT_NULL_COLUMNS),
    Rule(UNIQUE, APPLICATION_KEY),
    Rule(BETWEEN, "person_age", bounds=(18, 100)),
    Rule(BETWEEN, "person_income", bounds=(0, 10_000_000), strict_min=True),
    Rule(BETWEEN, "person_emp_length", bounds=(0, 60)),
    Rule(BETWEEN, "loan_amnt", bounds=(1, 100_000)),
    Rule(BETWEEN, "loan_int_rate", bounds=(0, 40)),
    Rule(IN_SET, "person_home_ownership", allowed=HOME_OWNERSHIP),
    Rule(IN_SET, "loan_intent", allowed=LOAN_INTENT),
)


def application_suite() -> gx.ExpectationSuite:
    """A fresh GE suite holding every rule of `RULES` (needs no data context)."""
    import great_expectations as gx

    return gx.ExpectationSuite(name=SUITE_NAME, expectations=[rule.to_gx() for rule in RULES])
