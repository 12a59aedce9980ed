"""The online reader's entity key bytes equal Feast's ``serialize_entity_key`` for every key type it accepts."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value

from mlops_assets.errors import ConfigurationError
from mlops_assets.features.entity_keys import entity_key_encoder

SERIALIZE = functools.partial(serialize_entity_key, entity_key_serialization_version=3)

# (join key, request field, ValueProto field): a request field may be named differently from its join key
KEYS = {
    "int64": [("zipcode", "zipcode", "int64_val")],
    "string": [("dob_ssn", "dob_ssn", "string_val")],
    "int32": [("store", "store_id", "int32_val")],
    "bytes": [("blob", "blob", "bytes_val")],
    "two keys, declared out of order": [("user", "user_id", "string_val"), ("merchant", "merchant", "int64_val")],
}
VALUES: dict[str, list[Any]] = {
    "zipcode": [0, 1, 90210, -1, 2**63 - 1, -(2**63)],
    "dob_ssn": ["19900101_1234", "", "ünïcødé_✓", "a" * 300],
    "store_id": [0, 7, -(2**31), 2**31 - 1],
    "blob": [b"", b"\x00\xff", bytes(range(256))],
    "user_id": ["u1", "日本"],
    "merchant": [3, -4],
}


def feast_key(keys: list[tuple[str, str, str]], row: dict[str, Any]) -> bytes:
    return SERIALIZE(EntityKey(join_keys=[j for j, _, _ in keys], entity_values=[Value(**{kind: row[field]}) for _, field, kind in keys]))


@pytest.mark.parametrize("case", list(KEYS))
def test_encoder_bytes_equal_feasts(case: str) -> None:
    keys = KEYS[case]
    encode = entity_key_encoder("view", keys, SERIALIZE)
    fields = [field for _, field, _ in keys]
    rows = [dict(zip(fields, combo)) for combo in zip(*(VALUES[f] for f in fields))]
    assert rows
    for row in rows:
        assert encode(row) == feast_key(keys, row), row


def test_a_serializer_that_disagrees_stops_the_reader_at_start() -> None:
    def other_format(key: EntityKey) -> bytes:
        return b"v4" + SERIALIZE(key)

    with pytest.raises(ConfigurationError, match="feature view 'zipcode_features'.*serializes entity keys differently"):
        entity_key_encoder("zipcode_features", KEYS["int64"], other_format)
