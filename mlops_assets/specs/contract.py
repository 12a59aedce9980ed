"""Data contracts: the columns a landing file must have, and the labels that arrive later.

A contract is data, not code: validation (the Great Expectations suite), the lake's
schemas, the replay and the endpoint's request checks are all derived from it, so a
column's type or range is written once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from mlops_assets.errors import ConfigurationError

KINDS: dict[str, str] = {
    "int": "int64",
    "float": "float64",
    "str": "object",
    "timestamp": "datetime64[us, UTC]",
}
"""Contract kind -> the pandas dtype every lake partition stores it as."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def check_name(owner: str, name: str, what: str = "name") -> None:
    """Names prefix asset keys, lake folders and registry models: lower_snake_case only."""
    if not _NAME.match(name):
        raise ConfigurationError(f"{owner}.{what}={name!r} must be lower_snake_case (letters, digits, _; starting with a letter)")


@dataclass(frozen=True)
class Column:
    """One column of a contract: its kind and the values it may take (bounds are inclusive).

    ``kind`` is int, float, str or timestamp (`KINDS`: the lake stores each with one dtype).
    ``strict_min`` makes the lower bound exclusive; ``allowed`` lists every legal value of a
    categorical column; ``unique`` marks a key; ``nullable`` allows missing values;
    ``max_length`` caps a str column's characters (a 100,000-character key is no key);
    ``personal`` marks a key that identifies a person (the prediction log stores it hashed);
    ``pattern`` is a regular expression a str value must match whole (a structured key's
    format); ``references`` names a `ReferenceTable` of the source that must hold the value in
    its column of the same name (a zipcode that exists); ``not_before`` names the timestamp
    column this one may not precede (a row is not created before its event). The validation
    suite is derived from them, and the endpoint checks a request field of that name against
    the same bounds, values, format and nullability.
    """

    name: str
    kind: str
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    strict_min: bool = False
    allowed: tuple[Any, ...] = ()
    unique: bool = False
    description: str = ""
    max_length: int | None = None
    personal: bool = False
    pattern: str | None = None
    references: str | None = None
    not_before: str | None = None

    def __post_init__(self) -> None:
        check_name("Column", self.name)
        if self.kind not in KINDS:
            raise ConfigurationError(f"Column {self.name!r}: kind={self.kind!r} must be one of {', '.join(KINDS)}")
        if self.kind in ("str", "timestamp") and (self.minimum is not None or self.maximum is not None):
            raise ConfigurationError(f"Column {self.name!r}: a {self.kind} column has no numeric bounds; use allowed=(...) instead")
        if self.max_length is not None and (self.kind != "str" or self.max_length < 1):
            raise ConfigurationError(f"Column {self.name!r}: max_length={self.max_length} needs a str column and a length of at least 1")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ConfigurationError(f"Column {self.name!r}: minimum {self.minimum} is above maximum {self.maximum}")
        if self.pattern is not None:
            if self.kind != "str":
                raise ConfigurationError(f"Column {self.name!r}: pattern needs a str column, this one is {self.kind}")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ConfigurationError(f"Column {self.name!r}: pattern {self.pattern!r} is not a regular expression ({exc})") from None
        if self.not_before is not None and self.kind != "timestamp":
            raise ConfigurationError(f"Column {self.name!r}: not_before compares timestamps, this column is {self.kind}")

    @property
    def dtype(self) -> str:
        """The pandas dtype of this column in the lake."""
        return KINDS[self.kind]

    @property
    def bounded(self) -> bool:
        """Whether it has a minimum or a maximum: only then does the suite check its range."""
        return self.minimum is not None or self.maximum is not None


@dataclass(frozen=True)
class LabelContract:
    """Outcomes: files of (id, label, time it became known) that arrive after their events.

    Labels land apart from the events because they are known later; ``time_column`` records
    when, and label histories are stamped with it, so a feature never counts an outcome that
    was unknown when an event happened. ``values`` lists the label's values and must hold
    ``positive``, the value `label_history` counts as a hit (the trainers score the
    probability of 1). ``delay_days`` is the usual delay: the replay lands outcomes that
    late; the pipeline itself waits for no delay, it uses the outcomes that have arrived.
    """

    column: str
    values: tuple[int, ...] = (0, 1)
    positive: int = 1
    delay_days: int = 7
    time_column: str = "labelled_at"

    def __post_init__(self) -> None:
        check_name("LabelContract", self.column, "column")
        check_name("LabelContract", self.time_column, "time_column")
        if self.positive not in self.values:
            raise ConfigurationError(f"LabelContract {self.column!r}: positive={self.positive} is not one of values={self.values}")
        if self.delay_days < 0:
            raise ConfigurationError(f"LabelContract {self.column!r}: delay_days={self.delay_days} cannot be negative")


@functools.cache
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """A column's ``pattern``, compiled once per process (the endpoint checks it on every request)."""
    return re.compile(pattern)


def dtypes(columns: tuple[Column, ...] | list[Column]) -> dict[str, str]:
    """Column name -> pandas dtype, in contract order."""
    return {column.name: column.dtype for column in columns}
