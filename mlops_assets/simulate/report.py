"""The continuous-training benchmark's table and its targets (issue 15), printed, never asserted.

Targets, per stream and label delay, for the default policy: on a drifting stream, a metric
at least weekly retraining's with at most a third of its retrains, above never retraining
at delay 7, and no model serving longer than `MAX_SERVED_DAYS`; on a stationary stream, at
most one retrain. A metric target comes with the best any timing of that many retrains
could do (`mlops_assets.simulate.hindsight`): when even that is below weekly's, the target
is out of reach on that stream, whatever the policy. It also comes with the best fixed rule
(every N days, or on a growth of the labelled rows) within that budget: when the rule falls
short but the best timing does not, only well-chosen days, which no such rule finds, meet it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlops_assets.simulate.hindsight import Hindsight
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
    reachable: bool = True  # False: no timing of the allowed retrains meets it (hindsight, every schedule tried)
    by_rule: bool = True  # False: no fixed rule within the budget meets it (`BestRule`), even tuned with hindsight


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


def by_strategy(outcomes: Sequence[Outcome]) -> dict[tuple[str, int, str], Outcome]:
    """Outcomes by stream, delay and strategy."""
    return {(o.stream, o.delay_days, o.strategy): o for o in outcomes}


def retrain_budget(weekly: Outcome) -> int:
    """The most retrains the default may take on a drifting stream: a third of weekly's."""
    return weekly.retrains // 3


def targets(outcomes: Sequence[Outcome], drifting: dict[str, bool], hindsight: Sequence[Hindsight] = ()) -> list[Target]:
    """Each target of the issue for the default policy, met or not, with the numbers it was judged on."""
    by = by_strategy(outcomes)
    best = {(h.stream, h.delay_days): h for h in hindsight}
    found = []
    for stream, delay in dict.fromkeys((o.stream, o.delay_days) for o in outcomes):
        default = by[(stream, delay, "default")]
        if not drifting[stream]:
            found.append(Target(stream, delay, "stationary: 0-1 retrains", default.retrains <= 1, f"{default.retrains} retrains"))
            continue
        weekly, never = by[(stream, delay, "weekly")], by[(stream, delay, "never")]
        found.append(_metric_target(stream, delay, default, weekly, best.get((stream, delay))))
        found.append(Target(stream, delay, "retrains <= weekly's / 3", default.retrains <= retrain_budget(weekly),
                            f"{default.retrains} vs {weekly.retrains}"))  # fmt: skip
        if delay == SLOW_DELAY:
            found.append(Target(stream, delay, "metric > never's", default.metric > never.metric, f"{default.metric:.4f} vs {never.metric:.4f}"))
        found.append(Target(stream, delay, f"no model serves > {MAX_SERVED_DAYS} days", default.longest_served_days <= MAX_SERVED_DAYS,
                            f"longest {default.longest_served_days} days"))  # fmt: skip
    return found


def _metric_target(stream: str, delay: int, default: Outcome, weekly: Outcome, best: Hindsight | None) -> Target:
    """Metric at least weekly's; with the best timing of weekly's retrains / 3, and whether it reaches weekly's."""
    numbers = f"{default.metric:.4f} vs {weekly.metric:.4f}"
    if best is None:
        return Target(stream, delay, "metric >= weekly's", default.metric >= weekly.metric, numbers)
    reachable = not best.exact or best.metric >= weekly.metric
    by_rule = best.rule is not None and best.rule.metric >= weekly.metric
    how = "" if best.exact else ", searched: at least"
    rule = f"; best fixed rule {best.rule.metric:.4f}" if best.rule else "; no fixed rule within it"
    numbers += f" (best timing of {best.budget} retrains{how} {best.metric:.4f}{'' if reachable else ': out of reach'}{rule})"
    return Target(stream, delay, "metric >= weekly's", default.metric >= weekly.metric, numbers, reachable, by_rule)


def target_lines(found: Sequence[Target]) -> str:
    lines = [f"{t.stream:<26} {t.delay_days}d  {'met    ' if t.met else 'NOT met'}  {t.what:<28} {t.numbers}" for t in found]
    met = sum(t.met for t in found)
    out_of_reach = sum(not t.met and not t.reachable for t in found)
    no_rule = sum(not t.met and t.reachable and not t.by_rule for t in found)
    summary = f"{met} of {len(found)} targets met"
    if out_of_reach:
        summary += f"; {out_of_reach} of the {len(found) - met} not met no timing of the allowed retrains could meet (hindsight)"
    if no_rule:
        summary += f"; {no_rule} more only hand-picked days could meet (no fixed rule within the budget does, even tuned per stream)"
    return "\n".join([*lines, summary])


def hindsight_table(found: Sequence[Hindsight], outcomes: Sequence[Outcome]) -> str:
    """Per drifting stream and delay: the budget, the best timing's metric and days, against the default and weekly."""
    by = by_strategy(outcomes)
    lines = []
    for h in found:
        default, weekly = by[(h.stream, h.delay_days, "default")], by[(h.stream, h.delay_days, "weekly")]
        how = f"all {h.schedules} schedules" if h.exact else f"search, {h.schedules} schedules (a lower bound)"
        rule = (f"best fixed rule: {h.rule.rule}, {h.rule.metric:.4f} on {', '.join(h.rule.days) or 'no day'} (of {h.rule.rules} rules "
                f"within the budget)" if h.rule else "no fixed rule within the budget")  # fmt: skip
        lines.append(f"{h.stream:<26} {h.delay_days}d  {h.budget} retrains: {h.metric:.4f} (default {default.metric:.4f}, weekly "
                     f"{weekly.metric:.4f}) on {', '.join(h.days) or 'no day'}; {how}\n{'':<30}{rule}")  # fmt: skip
    return "\n".join(lines)


def reasons_table(outcomes: Sequence[Outcome]) -> str:
    """For the default policy: on how many days each reason fired, and how many retrains it was among the reasons of."""
    lines = []
    for o in outcomes:
        if o.strategy != "default":
            continue
        fired = ", ".join(f"{name} {days}d/{o.retrained_for.get(name, 0)}r" for name, days in sorted(o.fired.items())) or "none"
        lines.append(f"{o.stream:<26} {o.delay_days}d  fired (days/retrains): {fired}; held by the policy on {o.held} days")
    return "\n".join(lines)
