"""The champion gate's decision: a pure function, so its rules are tested without a registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    metric: str
    challenger: float
    reference: float
    reference_name: str
    margin: float
    slice_regressions: tuple[str, ...] = ()

    def as_tags(self) -> dict[str, str]:
        """Registry tags recording the decision and the numbers behind it."""
        return {
            "gate.decision": "promoted" if self.promote else "refused",
            "gate.reason": self.reason,
            "gate.metric": self.metric,
            "gate.challenger": f"{self.challenger:.6f}",
            "gate.reference": f"{self.reference:.6f}",
            "gate.reference_name": self.reference_name,
            "gate.margin": str(self.margin),
            "gate.slice_regressions": ", ".join(self.slice_regressions),
        }


def decide(
    *,
    metric: str,
    challenger: float,
    reference: float,
    reference_name: str,
    margin: float,
    higher_is_better: bool,
    slice_deltas: Mapping[str, float] | None = None,
    max_slice_regression: float = 0.05,
) -> GateDecision:
    """Promote only when the challenger beats the reference by `margin` and no slice falls too far.

    `slice_deltas` are challenger minus reference per slice, in the metric's direction
    (negative is worse for a higher-is-better metric).
    """
    gain = challenger - reference if higher_is_better else reference - challenger
    regressions = tuple(
        sorted(name for name, delta in (slice_deltas or {}).items() if (delta if higher_is_better else -delta) < -max_slice_regression)
    )
    common = {"metric": metric, "challenger": challenger, "reference": reference, "reference_name": reference_name, "margin": margin}
    if gain < margin:
        reason = f"{metric} {challenger:.4f} does not beat {reference_name} {reference:.4f} by the margin {margin} (gain {gain:+.4f})"
        return GateDecision(promote=False, reason=reason, slice_regressions=regressions, **common)
    if regressions:
        reason = f"{metric} improves by {gain:+.4f} but slices regress by more than {max_slice_regression}: {', '.join(regressions)}"
        return GateDecision(promote=False, reason=reason, slice_regressions=regressions, **common)
    reason = f"{metric} {challenger:.4f} beats {reference_name} {reference:.4f} by {gain:+.4f} (margin {margin})"
    return GateDecision(promote=True, reason=reason, **common)
