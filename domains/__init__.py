"""The domains this repository ships, written as any user writes theirs: specs and a feature repo module.

`MODELS` is what `build_definitions()` (and `dagster dev`, `mlops`) load by default
(`MLOPS_MODELS=domains:MODELS`).
"""

from domains.access_requests import ACCESS_MODEL
from domains.credit import CREDIT_MODEL

MODELS = (CREDIT_MODEL, ACCESS_MODEL)

__all__ = ["MODELS"]
