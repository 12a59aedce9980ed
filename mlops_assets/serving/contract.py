"""What the HTTP server needs from a model: the fields it reads and a batch ``score`` call.

The server is model-agnostic; ``mlops_assets.serving.scorer`` builds the real Scorer from the
registry and the feature store, and tests plug in a trivial one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

FIELD_KINDS = ("int", "float", "str")


@dataclass(frozen=True)
class FieldSpec:
    """One request field: its JSON type and the values it may take (bounds are inclusive)."""

    name: str
    kind: str  # "int" | "float" | "str"
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"field {self.name!r}: kind must be one of {', '.join(FIELD_KINDS)}, got {self.kind!r}")


class UnknownEntityError(LookupError):
    """An entity key in the request is not in the feature store: the client's fault (404), not the server's."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"unknown {field}: {value!r} is not in the feature store")
        self.field = field
        self.value = value


class Scorer(Protocol):
    """A loaded model version ready to score validated rows.

    ``score`` runs on a worker thread and may be called from several threads at once,
    so it must be thread-safe; it returns one probability per row, in order.
    """

    model_name: str
    version: str  # registry version, e.g. "3"
    fields: tuple[FieldSpec, ...]  # the request fields it needs

    def score(self, rows: list[dict[str, Any]]) -> list[float]: ...


ScorerLoader = Callable[[str | None], Scorer]
"""Loads a version, or the current champion when given None; raises when it cannot."""
