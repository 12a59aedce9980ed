"""Who or what asked for a run, and which code ran: recorded on every model and decision."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from dagster import AssetExecutionContext

TRIGGER_TAG = "mlops/trigger"
# Set on runs a sensor or schedule launched: the retrain policy counts only these.
AUTOMATIC_TAG = "mlops/automatic"
TRIGGER_MAX_CHARS = 255  # a trigger is a sentence for the run list, not a log


def automatic_tags(trigger: str) -> dict[str, str]:
    """The tags of a run a sensor or schedule launches: why it runs, and that nobody launched it by hand."""
    return {TRIGGER_TAG: trigger[:TRIGGER_MAX_CHARS], AUTOMATIC_TAG: "true"}


def trigger(context: AssetExecutionContext) -> str:
    """Why this run exists: set by sensors, schedules and the CLI; a bare UI launch is manual."""
    return context.run.tags.get(TRIGGER_TAG, "manual")


@functools.cache
def git_sha() -> str:
    """Commit of the code that runs (with '-dirty' for uncommitted changes), or 'unknown'."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha
