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
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402

from mlops_assets.simulate.prequential import Outcome, first_model, replay  # noqa: E402
from mlops_assets.simulate.report import reasons_table, table, target_lines, targets  # noqa: E402
from mlops_assets.simulate.strategies import STRATEGIES, Strategy  # noqa: E402
from mlops_assets.simulate.streams import Stream  # noqa: E402
from mlops_assets.simulate.synthetic import SCENARIOS, synthetic_stream  # noqa: E402
from mlops_assets.simulate.versions import Fits  # noqa: E402

DELAYS = (0, 7)
DOMAIN_DAYS = 120  # the latest days of each domain's data: a year of credit with daily retrains took too long (docs/decisions/0011)


def clock() -> Callable[[str], None]:
    """A progress printer stamping each line with the seconds since it was made."""
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[ct-bench {time.perf_counter() - started:6.0f}s] {message}", flush=True)

    return say


def run_stream(stream: Stream, *, delays: Sequence[int] = DELAYS, strategies: Sequence[Strategy] = STRATEGIES,
               say: Callable[[str], None] = print) -> list[Outcome]:  # fmt: skip
    """Every strategy over ``stream`` at each delay; fits are shared between the strategies of one delay."""
    outcomes = []
    for delay in delays:
        delayed = stream.at_delay(delay)
        fits = Fits(delayed.spec, delayed.features)
        started = time.perf_counter()
        first = first_model(delayed, fits)
        say(f"{stream.name} at delay {delay}d: first model trained on day {first.day + 1} of {len(delayed.days)} "
            f"({first.attempts} refused by the baseline gate first), {time.perf_counter() - started:.0f}s")  # fmt: skip
        for strategy in strategies:
            outcome = replay(delayed, strategy, fits, first)
            say(f"{stream.name} {delay}d {strategy.name}: {delayed.spec.metric} {outcome.metric:.4f}, {outcome.retrains} retrains, "
                f"{outcome.promotions} promoted, longest served {outcome.longest_served_days}d ({outcome.seconds:.0f}s, {fits.trained} fits so far)")
            outcomes.append(outcome)
    return outcomes


def streams(data_root: Path, say: Callable[[str], None]) -> list[Stream]:
    """The project's models' streams (their real data when present) and the synthetic scenarios."""
    from mlops_assets.definitions import project_models
    from mlops_assets.profile import load_profile
    from mlops_assets.simulate.domain_streams import domain_streams

    domains = domain_streams(project_models(load_profile()), data_root, days=DOMAIN_DAYS, say=say)
    return [*domains, *(synthetic_stream(name) for name in SCENARIOS)]


def main(argv: Sequence[str] | None = None) -> list[Outcome]:
    from mlops_assets.profile import load_profile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every outcome (and the default policy's log) here")
    args = parser.parse_args(argv)
    say = clock()
    data_root = load_profile().data_root
    all_streams = streams(data_root, say)
    for stream in all_streams:
        say(f"stream {stream.name}: {len(stream.frame)} rows over {len(stream.days)} days, {len(stream.features)} features; {stream.data}")
    outcomes = [o for stream in all_streams for o in run_stream(stream, say=say)]
    drifting = {s.name: s.drifting for s in all_streams}
    print("\n" + table(outcomes) + "\n\nwhy the default policy retrained\n" + reasons_table(outcomes))
    print("\ntargets (issue 15)\n" + target_lines(targets(outcomes, drifting)))
    say("done")
    if args.json:
        args.json.write_text(json.dumps({"streams": {s.name: {"drifting": s.drifting, "data": s.data} for s in all_streams},
                                         "outcomes": [asdict(o) for o in outcomes]}, indent=1, default=str))  # fmt: skip
    return outcomes


if __name__ == "__main__":
    main()
