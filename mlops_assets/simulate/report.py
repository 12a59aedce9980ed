"""The continuous-training benchmark's table and its targets (issue 15), printed, never asserted.

Targets, per stream and label delay, for the default policy: on a drifting stream, a metric
at least weekly retraining's with at most a third of its retrains, above never retraining
at delay 7, and no model serving longer than `MAX_SERVED_DAYS`; on a stationary stream, at
most one retrain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlops_assets.simulate.prequential import Outcome

MAX_SERVED_DAYS = 60
SLOW_DELAY = 7  # the delay at which the default must beat never retraining


@dataclass(frozen=True)
class Target:
    stream: str
    delay_days: int
    what: str
    met: bool
    numbers: str


def table(outcomes: Sequence[Outcome]) -> str:
    """One row per stream, delay and strategy."""
    head = ("stream", "delay", "strategy", "metric", "daily", "retrains", "promoted", "waits", "refused", "longest", "seconds")
    rows = [head] + [
        (o.stream, f"{o.delay_days}d", o.strategy, f"{o.metric:.4f}", f"{o.daily_metric:.4f}", str(o.retrains), str(o.promotions),
         str(o.waits), str(o.refusals), f"{o.longest_served_days}d", f"{o.seconds:.0f}")
        for o in outcomes
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def targets(outcomes: Sequence[Outcome], drifting: dict[str, bool]) -> list[Target]:
    """Each target of the issue for the default policy, met or not, with the numbers it was judged on."""
    by = {(o.stream, o.delay_days, o.strategy): o for o in outcomes}
    found = []
    for stream, delay in dict.fromkeys((o.stream, o.delay_days) for o in outcomes):
        default = by[(stream, delay, "default")]
        if not drifting[stream]:
            found.append(Target(stream, delay, "stationary: 0-1 retrains", default.retrains <= 1, f"{default.retrains} retrains"))
            continue
        weekly, never = by[(stream, delay, "weekly")], by[(stream, delay, "never")]
        found.append(Target(stream, delay, "metric >= weekly's", default.metric >= weekly.metric,
                            f"{default.metric:.4f} vs {weekly.metric:.4f}"))  # fmt: skip
        found.append(Target(stream, delay, "retrains <= weekly's / 3", 3 * default.retrains <= weekly.retrains,
                            f"{default.retrains} vs {weekly.retrains}"))  # fmt: skip
        if delay == SLOW_DELAY:
            found.append(Target(stream, delay, "metric > never's", default.metric > never.metric, f"{default.metric:.4f} vs {never.metric:.4f}"))
        found.append(Target(stream, delay, f"no model serves > {MAX_SERVED_DAYS} days", default.longest_served_days <= MAX_SERVED_DAYS,
                            f"longest {default.longest_served_days} days"))  # fmt: skip
    return found


def target_lines(found: Sequence[Target]) -> str:
    lines = [f"{t.stream:<26} {t.delay_days}d  {'met    ' if t.met else 'NOT met'}  {t.what:<28} {t.numbers}" for t in found]
    met = sum(t.met for t in found)
    return "\n".join([*lines, f"{met} of {len(found)} targets met"])


def reasons_table(outcomes: Sequence[Outcome]) -> str:
    """For the default policy: on how many days each reason fired, and how many retrains it was among the reasons of."""
    lines = []
    for o in outcomes:
        if o.strategy != "default":
            continue
        fired = ", ".join(f"{name} {days}d/{o.retrained_for.get(name, 0)}r" for name, days in sorted(o.fired.items())) or "none"
        lines.append(f"{o.stream:<26} {o.delay_days}d  fired (days/retrains): {fired}; held by the policy on {o.held} days")
    return "\n".join(lines)
