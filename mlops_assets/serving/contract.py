"""What the HTTP server needs from a model: the fields it reads and a batch ``score`` call.

The server is model-agnostic; ``mlops_assets.serving.scorer`` builds the real Scorer from the
registry and the feature store, and tests plug in a trivial one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mlops_assets.errors import UnknownEntityError

__all__ = ["FIELD_KINDS", "FieldSpec", "Scorer", "ScorerLoader", "UnknownEntityError"]

FIELD_KINDS = ("int", "float", "str")


@dataclass(frozen=True)
class FieldSpec:
    """One request field: its JSON type and the values it may take (bounds are inclusive,
    the minimum exclusive with ``exclusive_minimum``).

    ``nullable`` lets a client send null for a value the model takes as missing (NaN).
    """

    name: str
    kind: str  # "int" | "float" | "str"
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[object, ...] | None = None
    nullable: bool = False
    exclusive_minimum: bool = False
    max_length: int | None = None  # characters of a str field
    pattern: str | None = None  # a regular expression a str field matches whole (a structured key's format)
    personal: bool = False  # a personal key: the prediction log stores its keyed hash (``serving.personal``)

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"field {self.name!r}: kind must be one of {', '.join(FIELD_KINDS)}, got {self.kind!r}")


class Scorer(Protocol):
    """A loaded model version ready to score validated rows.

    ``score`` runs on a worker thread and may be called from several threads at once,
    so it must be thread-safe; it returns one probability per row, in order. A scorer with
    a true ``inline`` attribute never waits on the network (say, features from a local file):
    the server then scores single rows on its event loop, skipping the thread hop.
    """

    model_name: str
    version: str  # registry version, e.g. "3"
    fields: tuple[FieldSpec, ...]  # the request fields it needs

    def score(self, rows: list[dict[str, Any]]) -> list[float]: ...


ScorerLoader = Callable[[str | None], Scorer]
"""Loads a version, or the current champion when given None; raises when it cannot."""
