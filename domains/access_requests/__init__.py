"""The access-request domain: requests (source), entity histories (feature_repo/access_requests.py), the grant model."""

from domains.access_requests.model import ACCESS_MODEL
from domains.access_requests.source import ACCESS_REQUESTS

__all__ = ["ACCESS_MODEL", "ACCESS_REQUESTS"]
