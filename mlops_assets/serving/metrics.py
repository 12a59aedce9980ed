"""Prometheus text exposition, dependency-free: a few dict updates per request and nothing else.

Updates happen on the server's event-loop thread only, so plain dicts need no lock.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Histogram:
    __slots__ = ("counts", "total", "n")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS_S) + 1)  # last slot is +Inf
        self.total = 0.0
        self.n = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1  # le is inclusive
        self.total += seconds
        self.n += 1


class ServingMetrics:
    """Request counts by route and status, errors, latency per route, predictions and shadow scores by
    model and version, and which versions serve each model: the champion, a canary with its percent, a shadow."""

    def __init__(self) -> None:
        self._requests: defaultdict[tuple[str, int], int] = defaultdict(int)
        self._errors: defaultdict[tuple[str, int], int] = defaultdict(int)
        self._predictions: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._latency: defaultdict[str, _Histogram] = defaultdict(_Histogram)
        self._shadow: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self._models: dict[str, tuple[str, tuple[str, float] | None, str | None]] = {}  # name -> (version, canary, shadow)

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one finished request (``route`` is the route template, never the raw path)."""
        self._requests[route, status] += 1
        if status >= 400:
            self._errors[route, status] += 1
        self._latency[route].observe(seconds)

    def count_predictions(self, model: str, version: str, n: int) -> None:
        """Rows scored, by model and version (a batch request counts each of its rows)."""
        self._predictions[model, version] += n

    def count_shadow(self, model: str, version: str, outcome: str, n: int) -> None:
        """Rows the shadow was asked to score: ``outcome`` is scored, failed or skipped (it was behind)."""
        self._shadow[model, version, outcome] += n

    def set_model(self, name: str, version: str, *, canary: tuple[str, float] | None = None, shadow: str | None = None) -> None:
        """A model's champion, plus the canary (version, percent) and the shadow version when there are any."""
        self._models[name] = (version, canary, shadow)

    def render(self) -> str:
        """The exposition text, ready to serve at /metrics."""
        out = [
            "# HELP mlops_requests_total HTTP requests answered, by route and status.",
            "# TYPE mlops_requests_total counter",
        ]
        out += [f'mlops_requests_total{{route="{_esc(r)}",status="{s}"}} {n}' for (r, s), n in sorted(self._requests.items())]
        out += [
            "# HELP mlops_request_errors_total HTTP requests answered with a 4xx or 5xx status.",
            "# TYPE mlops_request_errors_total counter",
        ]
        out += [
            f'mlops_request_errors_total{{route="{_esc(r)}",status="{s}"}} {n}' for (r, s), n in sorted(self._errors.items())
        ]
        out += [
            "# HELP mlops_predictions_total Rows scored, by model and version.",
            "# TYPE mlops_predictions_total counter",
        ]
        out += [
            f'mlops_predictions_total{{model="{_esc(m)}",version="{_esc(v)}"}} {n}' for (m, v), n in sorted(self._predictions.items())
        ]
        out += [
            "# HELP mlops_shadow_predictions_total Rows sent to the shadow model, by model, version and outcome (scored, failed, skipped).",
            "# TYPE mlops_shadow_predictions_total counter",
        ]
        out += [
            f'mlops_shadow_predictions_total{{model="{_esc(m)}",version="{_esc(v)}",outcome="{o}"}} {n}'
            for (m, v, o), n in sorted(self._shadow.items())
        ]
        out += [
            "# HELP mlops_request_duration_seconds Time from request received to response ready.",
            "# TYPE mlops_request_duration_seconds histogram",
        ]
        for route, hist in sorted(self._latency.items()):
            label = f'route="{_esc(route)}"'
            cumulative = 0
            for bound, count in zip((*LATENCY_BUCKETS_S, math.inf), hist.counts):
                cumulative += count
                le = "+Inf" if bound == math.inf else repr(bound)
                out.append(f'mlops_request_duration_seconds_bucket{{{label},le="{le}"}} {cumulative}')
            out.append(f"mlops_request_duration_seconds_sum{{{label}}} {hist.total!r}")
            out.append(f"mlops_request_duration_seconds_count{{{label}}} {hist.n}")
        models = sorted(self._models.items())
        out += [
            "# HELP mlops_served_model_version Registry version of the champion each model serves.",
            "# TYPE mlops_served_model_version gauge",
        ]
        out += [f'mlops_served_model_version{{model="{_esc(name)}"}} {_version_number(version)}' for name, (version, _, _) in models]
        out += [
            "# HELP mlops_canary_percent Share of callers (percent) routed to the canary version; 0 without a canary.",
            "# TYPE mlops_canary_percent gauge",
        ]
        out += [f'mlops_canary_percent{{model="{_esc(name)}"}} {canary[1] if canary else 0}' for name, (_, canary, _) in models]
        out += [
            "# HELP mlops_canary_model_version Registry version of the canary, while there is one.",
            "# TYPE mlops_canary_model_version gauge",
        ]
        out += [f'mlops_canary_model_version{{model="{_esc(name)}"}} {_version_number(canary[0])}' for name, (_, canary, _) in models if canary]
        out += [
            "# HELP mlops_shadow_model_version Registry version of the shadow, while there is one.",
            "# TYPE mlops_shadow_model_version gauge",
        ]
        out += [f'mlops_shadow_model_version{{model="{_esc(name)}"}} {_version_number(shadow)}' for name, (_, _, shadow) in models if shadow]
        return "\n".join(out) + "\n"


def _version_number(version: str) -> str:
    """Registry versions are integers; anything else is exposed as NaN rather than breaking the scrape."""
    try:
        return str(int(version))
    except ValueError:
        return "NaN"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
