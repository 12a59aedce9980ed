"""The project's exception types. Messages say what was wrong, where, and how to fix it."""

from __future__ import annotations


class MlopsError(Exception):
    """Base class: every error raised on purpose by mlops-assets."""


class ConfigurationError(MlopsError):
    """A setting (environment variable, spec field) has a value that cannot work."""


class DataError(MlopsError):
    """Input data is missing or does not follow its contract."""


class ModelNotFoundError(MlopsError):
    """The registry holds no version for the alias or model asked for."""
