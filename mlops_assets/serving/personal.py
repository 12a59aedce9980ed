"""Personal keys (a contract column marked ``personal``) reach the prediction log only as a keyed hash.

The hash still joins a person's predictions to each other and to a hashed label table, but
the log no longer holds the key itself. A short key (a birth date and four digits) can be
found again from an unkeyed hash by trying every value, so production sets
``MLOPS_PERSONAL_KEY`` (a secret of at least 16 bytes, from the environment only); without it
the hash is unkeyed and the server says so once at start.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

KEY_ENV = "MLOPS_PERSONAL_KEY"
PREFIX = "blake2b:"
_warned: list[bool] = []  # the missing key is said once per process, not at every routing change


class PersonalHasher:
    """Replaces the personal fields of a row with ``blake2b:<32 hex digits>``; a row without them is returned as is."""

    def __init__(self, fields: Iterable[str], key: str | None = None) -> None:
        self.fields = tuple(fields)
        secret = key if key is not None else os.environ.get(KEY_ENV, "")
        self._key = secret.encode()[:64]  # blake2b takes keys of up to 64 bytes
        if self.fields and not self._key and not _warned:
            _warned.append(True)
            logger.warning("%s is not set: personal fields %s are logged as unkeyed hashes", KEY_ENV, ", ".join(self.fields))

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if not self.fields:
            return row
        hidden = dict(row)
        for name in self.fields:
            value = hidden.get(name)
            if value is not None:
                hidden[name] = self.digest(value)
        return hidden

    def digest(self, value: Any) -> str:
        return PREFIX + hashlib.blake2b(str(value).encode(), key=self._key, digest_size=16).hexdigest()
