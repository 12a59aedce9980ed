"""The specs: frozen data that describe sources and models; factories turn them into definitions."""

from __future__ import annotations

from mlops_assets.specs.contract import Column, LabelContract
from mlops_assets.specs.model import ModelSpec
from mlops_assets.specs.policy import RetrainPolicy
from mlops_assets.specs.source import FeatureTable, ReferenceTable, SampleData, SourceSpec

__all__ = ["Column", "FeatureTable", "LabelContract", "ModelSpec", "ReferenceTable", "RetrainPolicy", "SampleData", "SourceSpec"]
