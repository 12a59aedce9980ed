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


class UnknownEntityError(MlopsError, LookupError):
    """An entity key in a request is not in the feature store: the client's fault (404), not the server's."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"unknown {field}: {value!r} is not in the feature store")
        self.field = field
        self.value = value
