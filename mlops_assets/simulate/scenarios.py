"""Scenarios for `mlops simulate`: more days after the landed history, with one thing changed.

New applications come from the seeded synthetic generator, re-keyed onto the landed reference
tables (zipcodes, credit history) so their features resolve, with loan ids above every landed id.
A scenario is a small frozen dataclass saying what it changes: the generator's parameters
(covariate or concept drift), the label delay, or the rows as they land (schema break, garbage).

Outcomes keep arriving as the days pass, each on its own `labelled_at` day: those of the new
applications, and those of earlier applications still waiting (from `history`, the source the
landed days were replayed from, or from the simulator's ledger of outcomes it generated but has
not delivered yet). `write_landing` assumes one delay for every loan, which a label-delay week
followed by a normal one breaks, so the window is written here, file by file, with its writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from mlops_assets.schema import APPLICATION_COLUMNS, APPLICATION_KEY, EVENT_TIME, HOME_OWNERSHIP, LABEL, LABEL_COLUMNS
from mlops_assets.simulate.landing import (
    APPLICATIONS,
    LABELLED_AT,
    LABELS,
    PROGRESS_EVERY_DAYS,
    REFERENCE,
    _write_if_changed,
    landed_days,
    landing_path,
)
from mlops_assets.simulate.sources import (
    LabelModel,
    Population,
    SourceTables,
    SyntheticParams,
    conform,
    synthetic_source,
)

LEDGER = Path(".simulator") / "outcomes.parquet"  # outcomes generated but not yet due; the pipeline never reads it


@dataclass(frozen=True)
class Scenario:
    """The stable world: generator defaults, which resemble the real data; nothing else changed."""

    def params(self) -> SyntheticParams:
        return SyntheticParams()

    def label_delay(self, default: int) -> int:
        return default

    def perturb(self, days: list[pd.DataFrame], rng: np.random.Generator) -> list[pd.DataFrame]:
        """The applications of each day as they will land (one frame per day, in order)."""
        return days

    def notes(self, first_day: date, days: int) -> str:
        return "nothing injected: applications and outcomes from the generator's defaults"


@dataclass(frozen=True)
class CovariateDrift(Scenario):
    """Applicants change (dearer loans, poorer, more renters); P(default | inputs) does not."""

    int_rate_shift: float = 5.5  # points, added to the mean and the clip bounds
    income_factor: float = 0.6
    home_ownership: tuple[float, ...] = (0.70, 0.24, 0.05, 0.01)  # in HOME_OWNERSHIP order

    def params(self) -> SyntheticParams:
        pop = Population()
        return SyntheticParams(
            population=replace(
                pop,
                int_rate_mean=pop.int_rate_mean + self.int_rate_shift,
                int_rate_min=pop.int_rate_min + self.int_rate_shift,
                int_rate_max=pop.int_rate_max + self.int_rate_shift,
                income_log_mean=pop.income_log_mean + float(np.log(self.income_factor)),
                home_ownership=self.home_ownership,
            )
        )

    def notes(self, first_day: date, days: int) -> str:
        renters = self.home_ownership[HOME_OWNERSHIP.index("RENT")] / sum(self.home_ownership)
        return (
            f"loan_int_rate +{self.int_rate_shift:g}pp, person_income x{self.income_factor:g}, "
            f"{renters:.0%} renters from {first_day}; P(default | inputs) unchanged"
        )


@dataclass(frozen=True)
class ConceptDrift(Scenario):
    """Same applicants, new relation: dearer loans default less and owners more than renters,
    so a model trained before ranks risk backwards while a retrain on the new outcomes recovers."""

    label: LabelModel = LabelModel(
        intercept=-1.2,  # ~31% defaults, up from ~20%
        int_rate=-0.25,
        home_ownership=(("RENT", -0.6), ("MORTGAGE", 0.0), ("OWN", 0.9), ("OTHER", 0.3)),
    )

    def params(self) -> SyntheticParams:
        return SyntheticParams(label=self.label)

    def notes(self, first_day: date, days: int) -> str:
        before, after = LabelModel(), self.label
        home = ", ".join(f"{k} {v:+g}" for k, v in after.home_ownership if v)
        return (
            f"inputs unchanged; from {first_day} default log-odds per interest point {before.int_rate:+g} -> "
            f"{after.int_rate:+g}, home ownership reversed ({home}), "
            f"intercept {before.intercept:g} -> {after.intercept:g}"
        )


@dataclass(frozen=True)
class LabelDelay(Scenario):
    """Outcomes of the new applications arrive late, so recent days have none."""

    delay_days: int = 21

    def label_delay(self, default: int) -> int:
        return self.delay_days

    def notes(self, first_day: date, days: int) -> str:
        return f"outcomes of applications from {first_day} arrive after {self.delay_days} days (earlier ones keep theirs)"


@dataclass(frozen=True)
class SchemaBreak(Scenario):
    """An upstream export change renames a column from one day on; validation must stop the batch."""

    column: str = "loan_int_rate"
    renamed_to: str = "interest_rate"
    from_day: int = 4  # 1-based day of the window; a shorter window breaks on its last day

    def perturb(self, days: list[pd.DataFrame], rng: np.random.Generator) -> list[pd.DataFrame]:
        first = self._first_broken(len(days))
        return [f if i < first else f.rename(columns={self.column: self.renamed_to}) for i, f in enumerate(days)]

    def notes(self, first_day: date, days: int) -> str:
        first = self._first_broken(days)
        broken = first_day + timedelta(days=first)
        return f"{self.column} renamed {self.renamed_to} from {broken} (day {first + 1} of {days})"

    def _first_broken(self, days: int) -> int:
        return min(self.from_day, days) - 1


@dataclass(frozen=True)
class GarbageRows(Scenario):
    """A share of each day's rows breaks one rule each, often enough to exceed the reject limit.

    The share is drawn per day, so some days stay under the 10% limit and most do not. Defects
    keep the column dtypes: the batch must fail on rows, not on its schema.
    """

    share: tuple[float, float] = (0.05, 0.35)
    defects: tuple[tuple[str, object], ...] = (
        ("person_income", -25_000),
        ("person_age", 150),
        ("loan_intent", "CAR"),
        ("person_home_ownership", "CASTLE"),
        ("loan_int_rate", None),
        ("person_emp_length", None),
    )

    def perturb(self, days: list[pd.DataFrame], rng: np.random.Generator) -> list[pd.DataFrame]:
        broken = []
        for frame in days:
            frame = frame.copy()
            rows = rng.choice(len(frame), size=round(rng.uniform(*self.share) * len(frame)), replace=False)
            kinds = rng.integers(0, len(self.defects), size=len(rows))
            for kind, (column, value) in enumerate(self.defects):
                frame.loc[frame.index[rows[kinds == kind]], column] = np.nan if value is None else value
            broken.append(frame)
        return broken

    def notes(self, first_day: date, days: int) -> str:
        defects = ", ".join(f"null {c}" if v is None else f"{c}={v}" for c, v in self.defects)
        low, high = self.share
        return f"{low:.0%}-{high:.0%} of each day's rows broken from {first_day} (one of: {defects})"


SCENARIO_TABLE: dict[str, Scenario] = {
    "stable": Scenario(),
    "covariate-drift": CovariateDrift(),
    "concept-drift": ConceptDrift(),
    "label-delay": LabelDelay(),
    "schema-break": SchemaBreak(),
    "garbage-rows": GarbageRows(),
}
SCENARIOS = tuple(SCENARIO_TABLE)


@dataclass(frozen=True)
class ScenarioSummary:
    """What one call landed: its window, its rows (labels include earlier loans') and what was injected."""

    scenario: str
    first_day: date
    last_day: date
    applications: int
    labels: int
    notes: str


def simulate(
    root: Path,
    scenario: str,
    *,
    days: int = 30,
    seed: int = 0,
    start: date | None = None,
    label_delay_days: int = 7,
    rows_per_day: int = 80,
    progress: Callable[[str], None] | None = None,
    history: SourceTables | None = None,
) -> ScenarioSummary:
    """Land `days` more days with `scenario` injected, from the day after the last landed one.

    The same landing zone, scenario, seed and window give identical files. `history` is the
    source the landed days were replayed from: its outcomes still due arrive as they were; without
    it they are drawn from the generator's label model (the landing zone holds no outcomes early).
    """
    if scenario not in SCENARIO_TABLE:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    if days < 1 or rows_per_day < 1 or label_delay_days < 0:
        raise ValueError(
            f"simulate needs days >= 1, rows_per_day >= 1 and label_delay_days >= 0, "
            f"got {days}, {rows_per_day} and {label_delay_days}"
        )
    plan, root = SCENARIO_TABLE[scenario], Path(root)
    landed = _Landed.read(root)
    start = landed.last_day + timedelta(days=1) if start is None else start
    if start <= landed.last_day:
        raise ValueError(f"simulate continues the story: start {start} must come after the last landed day {landed.last_day}")

    generator_seed, rng = _seeds(seed, start)
    loans = synthetic_source(generator_seed, start, days, rows_per_day, plan.params()).loans
    loans = landed.rekey(loans, history, plan.params().population.credit_history_share, rng)
    owed = pd.concat(
        [landed.owed_outcomes(history, label_delay_days, rng), _outcomes(loans, plan.label_delay(label_delay_days))],
        ignore_index=True,
    ).sort_values([LABELLED_AT, APPLICATION_KEY], ignore_index=True)
    day_of = loans[EVENT_TIME].dt.date
    window = [start + timedelta(days=i) for i in range(days)]
    applications = plan.perturb([loans[day_of == day].drop(columns=[LABEL]) for day in window], rng)

    due = owed[LABELLED_AT].dt.date
    rows = {APPLICATIONS: 0, LABELS: 0}
    for i, (day, frame) in enumerate(zip(window, applications)):
        for kind, table in ((APPLICATIONS, frame), (LABELS, owed[due == day])):
            if len(table):
                _write_if_changed(pa.Table.from_pandas(table, preserve_index=False), landing_path(root, kind, day))
                rows[kind] += len(table)
        if progress is not None and ((i + 1) % PROGRESS_EVERY_DAYS == 0 or i + 1 == days):
            progress(f"{scenario}: landed {day} ({i + 1}/{days} days): {rows[APPLICATIONS]} applications, {rows[LABELS]} labels")
    _write_if_changed(pa.Table.from_pandas(owed[due > window[-1]], preserve_index=False), root / LEDGER)
    return ScenarioSummary(scenario, start, window[-1], rows[APPLICATIONS], rows[LABELS], plan.notes(start, days))


def _seeds(seed: int, start: date) -> tuple[int, np.random.Generator]:
    """The generator's seed and a generator for the rest, both from (seed, start): consecutive
    windows with one seed get different applicants, and a rerun of a window the same ones."""
    generator, rest = np.random.SeedSequence([seed, start.toordinal()]).spawn(2)
    return int(generator.generate_state(1)[0]), np.random.default_rng(rest)


def _outcomes(loans: pd.DataFrame, delay_days: int) -> pd.DataFrame:
    """Label rows as they will land, due `delay_days` after each application."""
    labels = pd.DataFrame(
        {
            APPLICATION_KEY: loans[APPLICATION_KEY],
            LABEL: loans[LABEL],
            LABELLED_AT: loans[EVENT_TIME] + pd.Timedelta(days=delay_days),
        }
    )
    return conform(labels, LABEL_COLUMNS, "simulated labels")


@dataclass(frozen=True)
class _Landed:
    """What the landing zone already holds: applications, which of them have outcomes, references."""

    applications: pd.DataFrame
    labelled: pd.Index
    last_day: date
    zipcodes: pd.DataFrame
    credit_history: pd.DataFrame
    ledger: pd.DataFrame

    @classmethod
    def read(cls, root: Path) -> _Landed:
        references = [root / REFERENCE / "zipcodes.parquet", root / REFERENCE / "credit_history.parquet"]
        application_days = landed_days(root, APPLICATIONS)
        if not application_days or not all(p.exists() for p in references):
            raise ValueError(f"no landed history under {root}: replay one first (mlops replay), then simulate")
        label_days = landed_days(root, LABELS)
        labels = [pd.read_parquet(landing_path(root, LABELS, d), columns=[APPLICATION_KEY]) for d in label_days]
        ledger = root / LEDGER
        return cls(
            applications=pd.concat(
                [pd.read_parquet(landing_path(root, APPLICATIONS, d)) for d in application_days], ignore_index=True
            ),
            labelled=pd.Index(pd.concat(labels)[APPLICATION_KEY] if labels else []),
            last_day=max(application_days + label_days),
            zipcodes=pd.read_parquet(references[0]),
            credit_history=pd.read_parquet(references[1]),
            ledger=conform(
                pd.read_parquet(ledger) if ledger.exists() else pd.DataFrame(columns=list(LABEL_COLUMNS)),
                LABEL_COLUMNS,
                str(ledger),
            ),
        )

    def rekey(
        self, loans: pd.DataFrame, history: SourceTables | None, credit_history_share: float, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Loan ids above every landed one (and every source one: none may collide); landed zipcodes
        (by population) and, for a share of applicants, a landed credit-history key, so features resolve."""
        out = loans.copy()
        ids = [self.applications[APPLICATION_KEY]] + ([] if history is None else [history.loans[APPLICATION_KEY]])
        top = int(max(i.max() for i in ids))
        out[APPLICATION_KEY] = np.arange(top + 1, top + 1 + len(out), dtype=np.int64)
        weights = self.zipcodes["population"].to_numpy(dtype=float)
        out["zipcode"] = rng.choice(self.zipcodes["zipcode"].to_numpy(), size=len(out), p=weights / weights.sum())
        known = np.flatnonzero(rng.random(len(out)) < credit_history_share)
        out.loc[out.index[known], "dob_ssn"] = rng.choice(self.credit_history["dob_ssn"].to_numpy(), size=len(known))
        return out

    def owed_outcomes(self, history: SourceTables | None, delay_days: int, rng: np.random.Generator) -> pd.DataFrame:
        """Outcomes of landed applications that have none yet: the ledger's, then `history`'s,
        else drawn from the generator's label model; the last two due `delay_days` after the application."""
        waiting = self.applications[~self.applications[APPLICATION_KEY].isin(self.labelled)]
        ledger = self.ledger[self.ledger[APPLICATION_KEY].isin(waiting[APPLICATION_KEY])]
        waiting = waiting[~waiting[APPLICATION_KEY].isin(ledger[APPLICATION_KEY])]
        truth = pd.Series(dtype="int64") if history is None else history.loans.set_index(APPLICATION_KEY)[LABEL]
        outcome = waiting[APPLICATION_KEY].map(truth)
        unknown = outcome.isna().to_numpy()
        outcome[unknown] = _draw_outcomes(waiting[unknown], rng)
        return pd.concat([ledger, _outcomes(waiting.assign(**{LABEL: outcome}), delay_days)], ignore_index=True)


def _draw_outcomes(applications: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Outcomes from the default label model; rows it cannot score (broken values) get its base rate."""
    model = LabelModel()
    with np.errstate(all="ignore"):  # a renamed column scores NaN, a negative income log(-x): both get the base rate
        log_odds = model.log_odds(applications.reindex(columns=list(APPLICATION_COLUMNS)))
    log_odds = np.where(np.isfinite(log_odds), log_odds, model.intercept)
    return (rng.random(len(applications)) < 1.0 / (1.0 + np.exp(-log_odds))).astype(np.int64)
