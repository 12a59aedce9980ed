"""The credit domain: loan applications (source), their features (feature_repo/credit.py), the default model."""

from domains.credit.model import CREDIT_MODEL
from domains.credit.source import APPLICATIONS

__all__ = ["APPLICATIONS", "CREDIT_MODEL"]
