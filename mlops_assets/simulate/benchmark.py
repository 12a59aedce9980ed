"""The continuous-training benchmark: every stream at label delays 0 and 7, every strategy, one table.

``python -m mlops_assets.simulate.benchmark [--json out.json] [--logs folder]`` replays the
project's domains (`domain_streams`) and the synthetic scenarios (`synthetic`), and prints,
per stream, delay and strategy, the prequential metric, retrains, promotions and the longest
time one model served, then the issue's targets met or not. `make bench` runs it through
tests/benchmarks/test_ct_bench.py.

LightGBM's OpenMP threads spin while they wait for work by default; on a busy 2-core machine
that made one fit 3-5x slower (measured), so the benchmark process asks for passive waiting
(``OMP_WAIT_POLICY=PASSIVE``) before LightGBM loads.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import asdict  # noqa: E402
from functools import partial  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from mlops_assets.simulate.hindsight import Hindsight, Schedules, best_schedule  # noqa: E402
from mlops_assets.simulate.prequential import Outcome, first_model, replay  # noqa: E402
from mlops_assets.simulate.report import hindsight_table, reasons_table, retrain_budget, table, target_lines, targets  # noqa: E402
from mlops_assets.simulate.strategies import STRATEGIES  # noqa: E402
from mlops_assets.simulate.streams import Stream  # noqa: E402
from mlops_assets.simulate.synthetic import SCENARIOS, synthetic_stream  # noqa: E402
from mlops_assets.simulate.versions import Fits  # noqa: E402

DELAYS = (0, 7)
DOMAIN_DAYS = 120  # the latest days of each domain's data: a year of credit with daily retrains took too long (docs/decisions/0011)
SYNTHETIC_DAYS, SYNTHETIC_ROWS = 70, 200
WORKERS = 2

Recipe = Callable[[], Stream]  # builds a stream in a worker process (specs hold functions, which do not pickle)


def clock(started: float | None = None) -> Callable[[str], None]:
    """A progress printer stamping each line with the seconds since ``started`` (wall clock; default now)."""
    origin = time.time() if started is None else started

    def say(message: str) -> None:
        print(f"[ct-bench {time.time() - origin:6.0f}s] {message}", flush=True)

    return say


Result = tuple[dict[str, object], list[Outcome], list[Hindsight]]


def run_delay(recipe: Recipe, delay: int, started: float) -> Result:
    """Every strategy over one stream at one delay, fits shared between the strategies; the stream's summary too.

    On a drifting stream, also the best metric any timing of weekly's retrains / 3 could
    reach (`hindsight`): whether the issue's metric target is reachable there at all, and
    whether a fixed rule (every N days, new labels at a share) reaches it.
    """
    say = clock(started)
    stream = recipe().at_delay(delay)
    fits = Fits(stream.spec, stream.features)
    first = first_model(stream, fits)
    say(f"{stream.name} at {delay}d: {len(stream.frame)} rows over {len(stream.days)} days; first model on day {first.day + 1} "
        f"({first.attempts} refused by the baseline gate before it)")  # fmt: skip
    outcomes = []
    for strategy in STRATEGIES:
        outcome = replay(stream, strategy, fits, first)
        say(f"{stream.name} {delay}d {strategy.name}: {stream.spec.metric} {outcome.metric:.4f}, {outcome.retrains} retrains, "
            f"{outcome.promotions} promoted, longest served {outcome.longest_served_days}d ({outcome.seconds:.0f}s, {fits.trained} fits so far)")
        outcomes.append(outcome)
    found = []
    if stream.drifting:
        weekly = next(o for o in outcomes if o.strategy == "weekly")
        best = best_schedule(Schedules(stream, fits, first), retrain_budget(weekly))
        rule = f"; the best fixed rule, {best.rule.rule}, {best.rule.metric:.4f}" if best.rule else ""
        say(f"{stream.name} {delay}d hindsight: the best {best.budget} retrain days give {stream.spec.metric} {best.metric:.4f} "
            f"({'every' if best.exact else 'a search over'} {best.schedules} schedules){rule}")
        found.append(best)
    return {"name": stream.name, "drifting": stream.drifting, "data": stream.data}, outcomes, found


def domain_stream(model: str, path: Path, features: tuple[str, ...], data: str) -> Stream:
    """A project model's stream from the feature frame `domain_streams` built (saved to ``path``)."""
    from mlops_assets.profile import load_profile
    from mlops_assets.project import project_model

    # real data drifts in ways nobody specified: the targets of a drifting stream apply
    return Stream(name=model, spec=project_model(load_profile(), model), frame=pd.read_parquet(path), features=features,
                  drifting=True, data=data)  # fmt: skip


def recipes(folder: Path, say: Callable[[str], None]) -> list[Recipe]:
    """The project's models' streams (their real data when present), then the synthetic scenarios."""
    from mlops_assets.definitions import project_models
    from mlops_assets.profile import load_profile
    from mlops_assets.simulate.domain_streams import domain_streams

    profile = load_profile()
    found: list[Recipe] = []
    for stream in domain_streams(project_models(profile), profile.data_root, days=DOMAIN_DAYS, say=say):
        path = folder / f"{stream.name}.parquet"
        stream.frame.to_parquet(path)
        found.append(partial(domain_stream, stream.name, path, stream.features, stream.data))
    return found + [partial(synthetic_stream, name, days=SYNTHETIC_DAYS, rows_per_day=SYNTHETIC_ROWS) for name in SCENARIOS]


def run(workers: int = WORKERS) -> tuple[list[dict[str, object]], list[Outcome], list[Hindsight]]:
    """Every stream at every delay, ``workers`` at a time; outcomes in stream, delay, strategy order."""
    started = time.time()
    say = clock(started)
    with tempfile.TemporaryDirectory(prefix="mlops-ct-frames-") as folder:
        jobs = [(recipe, delay, started) for recipe in recipes(Path(folder), say) for delay in DELAYS]
        say(f"replaying {len(jobs)} streams x delays, {len(STRATEGIES)} strategies each, {workers} at a time")
        if workers == 1:
            results = [run_delay(*job) for job in jobs]
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                results = list(pool.map(run_delay, *zip(*jobs)))
    streams = list({summary["name"]: summary for summary, _, _ in results}.values())
    return streams, [o for _, outcomes, _ in results for o in outcomes], [h for _, _, found in results for h in found]


def main(argv: Sequence[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every outcome (with the default policy's log) here")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"streams replayed at once (default {WORKERS})")
    args = parser.parse_args(argv)
    started = time.time()
    streams, outcomes, hindsight = run(args.workers)
    drifting = {s["name"]: bool(s["drifting"]) for s in streams}
    print("\n" + table(outcomes) + "\n\nwhy the default policy retrained\n" + reasons_table(outcomes))
    print("\nthe best timing of weekly's retrains / 3, with hindsight (fits on every known row, as the refit after the gate), "
          "and the best fixed rule within that budget (ungated, tuned per stream)\n"
          + hindsight_table(hindsight, outcomes))
    print("\ntargets (issue 15)\n" + target_lines(targets(outcomes, drifting, hindsight)))
    for s in streams:
        print(f"{s['name']}: {s['data']}")
    print(f"\nrun time {time.time() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"streams": {s["name"]: s for s in streams}, "outcomes": [asdict(o) for o in outcomes],
                                         "hindsight": [asdict(h) for h in hindsight]},
                                        indent=1, default=str))  # fmt: skip
    return outcomes


if __name__ == "__main__":
    # through the imported module, so the worker processes find run_delay and the recipes by their module's name
    from mlops_assets.simulate import benchmark

    benchmark.main()
