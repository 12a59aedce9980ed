"""Scenarios for `mlops simulate`: more days after the landed history, with one thing changed.

New applications come from the seeded generator, re-keyed onto the landed reference tables
(zipcodes, credit history) so their features resolve, with loan ids above every landed id.
Each scenario is a small frozen description of what it changes, applied to the generator's
parameters (drift) or to the generated rows (broken data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from domains.credit.data import LABEL, LabelModel, Population, SyntheticParams, credit_tables, synthetic_source
from mlops_assets.simulate.landing import ReplayTables, landed_days, landing_path, write_landing
from mlops_assets.specs.source import SourceSpec

APPLICATIONS = "applications"  # the credit source's name: its landing folder


RESAMPLE_DAYS = 30


@dataclass(frozen=True)
class Scenario:
    """What a scenario changes. `resample`: draw applications from the recently landed ones
    (same inputs and outcomes as the history) instead of the generator; `relabel`: give
    them outcomes from `label` instead (the relation changes, the inputs do not)."""

    notes: str
    resample: bool = False
    relabel: bool = False
    population: Population = Population()
    label: LabelModel = LabelModel()
    label_delay_days: int | None = None
    rename: tuple[str, str] | None = None
    garbage_share: float = 0.0


SCENARIO_TABLE: dict[str, Scenario] = {
    "stable": Scenario("applications and outcomes resampled from the last 30 landed days", resample=True),
    "covariate-drift": Scenario(
        "inputs shift (interest +5.5 points, incomes x0.6, more renters); P(default | inputs) unchanged",
        population=replace(Population(), int_rate_mean=16.5, income_log_mean=10.9 + float(np.log(0.6)), home_ownership=(0.7, 0.25, 0.04, 0.01)),
    ),
    "concept-drift": Scenario(
        "inputs resampled from history, outcomes from a new relation: interest rate now lowers risk, owners default more than renters, longer jobs raise risk",
        resample=True,
        relabel=True,
        label=replace(  # a smooth relation: no steps, no intent effects
            LabelModel(), intercept=-1.3, int_rate=-0.35, int_rate_cliff=0.0, emp_length=0.15, loan_to_income=-4.0,
            home_ownership=(("RENT", -0.9), ("MORTGAGE", 0.0), ("OWN", 1.4), ("OTHER", 0.5)), loan_to_income_cliff=(), loan_intent=(),
        ),
    ),
    "label-delay": Scenario("outcomes arrive 21 days after the application instead of the usual delay", label_delay_days=21),
    "schema-break": Scenario("column loan_int_rate renamed interest_rate from the first day", rename=("loan_int_rate", "interest_rate")),
    "garbage-rows": Scenario("30% of rows broken: null incomes, ages of 150, negative amounts, unknown intents", garbage_share=0.30),
}
SCENARIOS = tuple(SCENARIO_TABLE)


@dataclass(frozen=True)
class ScenarioSummary:
    scenario: str
    first_day: date
    last_day: date
    events: int
    labels: int
    notes: str


def simulate(
    source: SourceSpec,
    root: Path,
    scenario: str,
    *,
    history: ReplayTables | None = None,
    days: int = 30,
    seed: int = 0,
    start: date | None = None,
    label_delay_days: int | None = None,
    rows_per_day: int = 80,
    progress: Callable[[str], None] | None = None,
) -> ScenarioSummary:
    """Land `days` more days with `scenario` injected, continuing after the last landed day.

    `history` is the source the landed days came from; its loans still waiting for an
    outcome get their labels as the new days pass (without it those outcomes never arrive).
    """
    if scenario not in SCENARIO_TABLE:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    plan = SCENARIO_TABLE[scenario]
    root = Path(root)
    landed = landed_days(root, APPLICATIONS)
    if not landed:
        raise ValueError(f"nothing landed under {root}: replay a history first (mlops replay)")
    start = start or landed[-1] + timedelta(days=1)
    zipcodes = pd.read_parquet(root / "reference" / "zipcodes.parquet")
    credit = pd.read_parquet(root / "reference" / "credit_history.parquet")
    rng = np.random.default_rng(seed + 1)
    recent = _recent_history(root, history, landed) if plan.resample else None
    if recent is not None and len(recent):
        loans = _resampled(recent, start, days, rows_per_day, rng)
        if plan.relabel:
            probability = 1.0 / (1.0 + np.exp(-plan.label.log_odds(loans)))
            loans[LABEL] = (rng.random(len(loans)) < probability).astype(np.int64)
        loans = _rekey(loans, root, zipcodes, credit, rng, keep_keys=True)
    else:
        generated = synthetic_source(seed=seed, start=start, days=days, rows_per_day=rows_per_day,
                                     params=SyntheticParams(population=plan.population, label=plan.label)).events
        loans = _rekey(generated, root, zipcodes, credit, rng)
    delay = plan.label_delay_days or label_delay_days or source.labels.delay_days
    pending = _pending(history, root, start, delay)
    _remember(root, loans)
    tables = credit_tables(pd.concat([pending, loans], ignore_index=True), zipcodes, credit)
    summary = write_landing(source, tables, root, start=start, days=days, label_delay_days=delay, progress=progress)
    if plan.rename or plan.garbage_share:
        _break_files(root, start, days, plan, rng)
    return ScenarioSummary(scenario, summary.first_day, summary.last_day, summary.events, summary.labels, plan.notes)


def _recent_history(root: Path, history: ReplayTables | None, landed: list[date]) -> pd.DataFrame | None:
    """Landed applications of the last RESAMPLE_DAYS days with their outcomes (from the source)."""
    known = _known_loans(root, history)
    if known.empty:
        return None
    ids = pd.concat(
        pd.read_parquet(landing_path(root, APPLICATIONS, day), columns=["loan_id"])
        for day in landed[-RESAMPLE_DAYS:]
        if landing_path(root, APPLICATIONS, day).exists()
    )["loan_id"]
    return known[known["loan_id"].isin(ids)]


def _resampled(recent: pd.DataFrame, start: date, days: int, rows_per_day: int, rng: np.random.Generator) -> pd.DataFrame:
    """Applications drawn with replacement from `recent`, spread over the new days in time order."""
    n = days * rows_per_day
    out = recent.iloc[rng.integers(0, len(recent), n)].reset_index(drop=True)
    day_start = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(np.repeat(np.arange(days), rows_per_day), unit="D")
    times = (day_start + pd.to_timedelta(rng.integers(0, 86_400_000_000, n), unit="us")).as_unit("us").sort_values()
    out["event_timestamp"] = times
    out["created_timestamp"] = times
    return out


def _rekey(loans: pd.DataFrame, root: Path, zipcodes: pd.DataFrame, credit: pd.DataFrame, rng: np.random.Generator, *, keep_keys: bool = False) -> pd.DataFrame:
    """Fresh loan ids; generated rows also get landed zipcodes and a few applicants with credit history."""
    out = loans.copy()
    if not keep_keys:
        out["zipcode"] = rng.choice(zipcodes["zipcode"].to_numpy(), size=len(out))
        known = rng.random(len(out)) < 0.035
        out.loc[known, "dob_ssn"] = rng.choice(credit["dob_ssn"].to_numpy(), size=int(known.sum()))
    top = max(int(pd.read_parquet(p, columns=["loan_id"])["loan_id"].max()) for p in (root / APPLICATIONS).glob("date=*/*.parquet"))
    out["loan_id"] = np.arange(top + 1, top + 1 + len(out), dtype=np.int64)
    return out


def _outcomes_file(root: Path) -> Path:
    """The simulated world's future: outcomes of loans it generated (the pipeline never reads this)."""
    return root / "_simulator" / "outcomes.parquet"


def _remember(root: Path, loans: pd.DataFrame) -> None:
    path = _outcomes_file(root)
    known = pd.read_parquet(path) if path.exists() else loans.iloc[0:0]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([known, loans], ignore_index=True).drop_duplicates("loan_id", keep="last").to_parquet(path, index=False)


def _known_loans(root: Path, history: ReplayTables | None) -> pd.DataFrame:
    """Every loan whose outcome the simulated world knows: the replayed source and what it generated."""
    sources = [history.events] if history is not None else []
    if _outcomes_file(root).exists():
        sources.append(pd.read_parquet(_outcomes_file(root)))
    if not sources:
        return pd.DataFrame()
    return pd.concat(sources, ignore_index=True).drop_duplicates("loan_id", keep="last")


def _pending(history: ReplayTables | None, root: Path, start: date, delay: int) -> pd.DataFrame:
    """Loans landed before the window whose outcomes are due inside it (replayed or simulated)."""
    known = _known_loans(root, history)
    if known.empty:
        return known
    days = known["event_timestamp"].dt.date
    return known[(days >= start - timedelta(days=delay)) & (days < start)]


def _break_files(root: Path, start: date, days: int, plan: Scenario, rng: np.random.Generator) -> None:
    """Rename a column or corrupt a share of rows in the window's application files, in place."""
    for offset in range(days):
        path = landing_path(root, APPLICATIONS, start + timedelta(days=offset))
        frame = pd.read_parquet(path)
        if plan.rename:
            frame = frame.rename(columns=dict([plan.rename]))
        if plan.garbage_share:
            frame = _garbage(frame, plan.garbage_share, rng)
        frame.to_parquet(path, index=False)


def _garbage(frame: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.astype({"person_income": "float64"})
    broken = np.flatnonzero(rng.random(len(out)) < share)
    kinds = rng.integers(0, 4, len(broken))
    out.loc[out.index[broken[kinds == 0]], "person_income"] = np.nan
    out.loc[out.index[broken[kinds == 1]], "person_age"] = 150
    out.loc[out.index[broken[kinds == 2]], "loan_amnt"] = -500
    out.loc[out.index[broken[kinds == 3]], "loan_intent"] = "CAR"
    return out
