"""Which model answers a request: the champion, a sticky canary share of callers, and a shadow.

A ``Routing`` is immutable and the app swaps it whole, so one request reads one consistent
set of models however the admin routes change it meanwhile.

The canary share is decided by a stable hash of the request's sticky keys (the caller),
not by a coin flip, so a caller who asks twice gets the same model twice; the hash is
salted with the canary version, so each new canary tries a different share of callers,
and raising the percent only adds callers (a bucket below 10% is also below 20%).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from mlops_assets.serving.contract import FieldSpec, Scorer
from mlops_assets.serving.personal import PersonalHasher

BUCKETS = 10_000  # basis points, so a percent may have two decimals

Groups = list[tuple[Scorer, list[int] | None]]
"""Rows by the scorer that takes them: row indices, or None for every row."""


def bucket(salt: str, key: str) -> int:
    """The key's bucket in ``range(BUCKETS)``: the same in every process and run, unlike ``hash``."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def incompatibility(champion: Scorer, challenger: Scorer) -> str | None:
    """Why ``challenger`` cannot score the requests validated for ``champion``, or None when it can."""
    wanted, given = _signature(challenger.fields), _signature(champion.fields)
    if wanted == given:
        return None
    return (
        f"version {challenger.version} reads request fields {_names(wanted)} but version {champion.version} "
        f"validates {_names(given)}: a challenger must take the same request as the champion"
    )


@dataclass(frozen=True)
class Routing:
    """The champion, an optional canary taking ``percent``% of callers, and an optional shadow."""

    champion: Scorer
    configured_keys: tuple[str, ...] = ()  # the model spec's sticky keys; fields a scorer lacks are skipped
    canary: Scorer | None = None
    percent: float = 0.0
    shadow: Scorer | None = None
    sticky_keys: tuple[str, ...] = field(init=False)  # the configured keys the champion reads; empty: request_id
    hide_personal: PersonalHasher = field(init=False)  # what the prediction log stores of a row

    def __post_init__(self) -> None:
        names = {spec.name for spec in self.champion.fields}
        object.__setattr__(self, "sticky_keys", tuple(k for k in self.configured_keys if k in names))
        object.__setattr__(self, "hide_personal", PersonalHasher(spec.name for spec in self.champion.fields if spec.personal))

    def pick(self, row: dict[str, Any], request_id: str) -> Scorer:
        """The scorer for one validated row: the canary for its share of callers, else the champion."""
        canary = self.canary
        if canary is None:
            return self.champion
        key = "\x1f".join(str(row[k]) for k in self.sticky_keys) if self.sticky_keys else request_id
        return canary if bucket(canary.version, key) < self.percent * (BUCKETS / 100) else self.champion

    def assign(self, rows: list[dict[str, Any]], ids: list[str]) -> Groups:
        """Rows grouped by the scorer that takes them, champion first."""
        if self.canary is None:
            return [(self.champion, None)]
        picks = [self.pick(row, request_id) for row, request_id in zip(rows, ids)]
        groups: Groups = []
        for scorer in (self.champion, self.canary):
            idx = [i for i, p in enumerate(picks) if p is scorer]
            if idx:
                groups.append((scorer, idx))
        return [(groups[0][0], None)] if len(groups) == 1 else groups

    def with_champion(self, champion: Scorer) -> tuple[Routing, list[str]]:
        """Serve a new champion; a canary or shadow that is that version, or cannot take its requests, ends.

        Returns the new routing and a sentence per experiment that ended, for the log.
        """
        ended = []
        canary, percent, shadow = self.canary, self.percent, self.shadow
        if canary is not None and (reason := _ends(champion, canary)):
            ended.append(f"canary of version {canary.version} ended: {reason}")
            canary, percent = None, 0.0
        if shadow is not None and (reason := _ends(champion, shadow)):
            ended.append(f"shadow of version {shadow.version} ended: {reason}")
            shadow = None
        return Routing(champion, self.configured_keys, canary, percent, shadow), ended

    def with_canary(self, canary: Scorer | None, percent: float) -> Routing:
        return replace(self, canary=canary, percent=percent if canary is not None else 0.0)

    def with_shadow(self, shadow: Scorer | None) -> Routing:
        return replace(self, shadow=shadow)

    def state(self) -> dict[str, Any]:
        """What /version and the admin routes report."""
        return {
            "model_name": self.champion.model_name,
            "model_version": self.champion.version,
            "canary": None if self.canary is None else {"version": self.canary.version, "percent": self.percent},
            "shadow": None if self.shadow is None else {"version": self.shadow.version},
        }


def score_groups(groups: Groups, rows: list[dict[str, Any]]) -> list[float]:
    """Every row's score, in order, one ``score`` call per scorer; runs on a worker thread."""
    scores = [0.0] * len(rows)
    for scorer, idx in groups:
        part = rows if idx is None else [rows[i] for i in idx]
        got = scorer.score(part)
        if len(got) != len(part):
            raise ValueError(f"version {scorer.version} returned {len(got)} scores for {len(part)} rows")
        for i, score in zip(range(len(rows)) if idx is None else idx, got):
            scores[i] = float(score)
    return scores


def _ends(champion: Scorer, challenger: Scorer) -> str | None:
    if challenger.version == champion.version:
        return f"version {champion.version} is now the champion"
    return incompatibility(champion, challenger)


def _signature(fields: tuple[FieldSpec, ...]) -> frozenset[tuple[str, str]]:
    return frozenset((spec.name, spec.kind) for spec in fields)


def _names(signature: frozenset[tuple[str, str]]) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in sorted(signature))
