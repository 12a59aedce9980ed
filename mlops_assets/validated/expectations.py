"""Expectation suites derived from a contract, kept as data so docs and the UI can list the rules.

Each `Rule` knows its Great Expectations type and parameters (to build the expectation)
and how to describe a violating value in plain words (to explain a quarantined row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_assets.specs.contract import Column

if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.expectations import Expectation

COLUMNS_EXIST = "expect_table_columns_to_match_set"
NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
LENGTH = "expect_column_value_lengths_to_be_between"
MATCH = "expect_column_values_to_match_regex"
UNIQUE_PER_GROUP = "expect_compound_columns_to_be_unique"


@dataclass(frozen=True)
class Rule:
    """One expectation of the suite: its GE type, the column it checks and its parameters."""

    expectation: str
    column: str | None = None
    bounds: tuple[float, float] | None = None
    strict_min: bool = False
    allowed: tuple[Any, ...] = ()
    required: tuple[str, ...] = ()
    group: str | None = None  # UNIQUE_PER_GROUP: the column is unique within each value of this one
    pattern: str | None = None  # MATCH: the regular expression a value matches whole

    @property
    def name(self) -> str:
        """Stable id, e.g. `expect_column_values_to_be_between(person_age)`."""
        if self.group:
            return f"{self.expectation}({self.column},{self.group})"
        return f"{self.expectation}({self.column})" if self.column else self.expectation

    def per_group(self, group: str) -> Rule:
        """This uniqueness rule checked within each value of ``group`` (several days judged at once, each on its own)."""
        if self.expectation != UNIQUE:
            raise ValueError(f"{self.name}: only a uniqueness rule is checked per group")
        return Rule(UNIQUE_PER_GROUP, self.column, group=group)

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
        if self.expectation == LENGTH:
            return f"{self.column} at most {_show(self._bounds[1])} characters"
        if self.expectation == MATCH:
            return f"{self.column} matches {self.pattern}"
        return f"{self.column} in {{{self._choices}}}"

    def violation(self, value: Any) -> str:
        """Why `value` breaks this row-level rule, naming field, rule and value."""
        if self.expectation == NOT_NULL:
            return f"{self.column} is null"
        if self.expectation == UNIQUE:
            return f"{self.column}={_show(value)} is duplicated"
        if self.expectation == BETWEEN:
            return f"{self.column}={_show(value)} outside {self._interval}"
        if self.expectation == LENGTH:
            return f"{self.column} has {len(str(value))} characters, over {_show(self._bounds[1])} ({_show(str(value)[:20])}...)"
        if self.expectation == MATCH:
            return f"{self.column}={_show(str(value)[:40])} does not match {self.pattern}"
        return f"{self.column}={_show(value)} not in {{{self._choices}}}"

    def to_gx(self) -> Expectation:
        """The Great Expectations object for this rule."""
        import great_expectations.expectations as gxe

        kwargs: dict[str, Any] = {"column": self.column} if self.column else {}
        if self.expectation == UNIQUE_PER_GROUP:
            kwargs = {"column_list": [self.column, self.group]}
        elif self.expectation == COLUMNS_EXIST:
            kwargs |= {"column_set": list(self.required), "exact_match": False}
        elif self.expectation == BETWEEN:
            lo, hi = self._bounds
            kwargs |= {"min_value": None if math.isinf(lo) else lo, "max_value": None if math.isinf(hi) else hi, "strict_min": self.strict_min}
        elif self.expectation == IN_SET:
            kwargs |= {"value_set": list(self.allowed)}
        elif self.expectation == LENGTH:
            kwargs |= {"min_value": None, "max_value": int(self._bounds[1])}
        elif self.expectation == MATCH:
            kwargs |= {"regex": rf"\A(?:{self.pattern})\Z"}  # GE searches; the contract means the whole value
        cls = "".join(part.capitalize() for part in self.expectation.split("_"))
        return getattr(gxe, cls)(**kwargs)

    @property
    def _bounds(self) -> tuple[float, float]:
        if self.bounds is None:
            raise ValueError(f"{self.name} needs bounds")
        return self.bounds

    @property
    def _choices(self) -> str:
        return ", ".join(str(value) for value in self.allowed)

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


def rules_for(columns: tuple[Column, ...]) -> tuple[Rule, ...]:
    """The suite a contract implies: every column present, then per column its null, key, range and set rules."""
    rules = [Rule(COLUMNS_EXIST, required=tuple(c.name for c in columns))]
    rules += [Rule(NOT_NULL, c.name) for c in columns if not c.nullable]
    rules += [Rule(UNIQUE, c.name) for c in columns if c.unique]
    for column in columns:
        if column.bounded:
            lo = -math.inf if column.minimum is None else column.minimum
            hi = math.inf if column.maximum is None else column.maximum
            rules.append(Rule(BETWEEN, column.name, bounds=(lo, hi), strict_min=column.strict_min))
        if column.allowed:
            rules.append(Rule(IN_SET, column.name, allowed=tuple(column.allowed)))
        if column.max_length is not None:
            rules.append(Rule(LENGTH, column.name, bounds=(0, column.max_length)))
        if column.pattern is not None:
            rules.append(Rule(MATCH, column.name, pattern=column.pattern))
    return tuple(rules)


def expectation_suite(name: str, rules: tuple[Rule, ...]) -> gx.ExpectationSuite:
    """A fresh GE suite holding every rule (needs no data context)."""
    import great_expectations as gx

    return gx.ExpectationSuite(name=name, expectations=[rule.to_gx() for rule in rules])
