"""Feast's entity key bytes for a request row, built without protobuf objects and checked against Feast once."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlops_assets.errors import ConfigurationError

KEY_FIELDS = {
    "INT64": "int64_val",
    "INT32": "int32_val",
    "STRING": "string_val",
    "BYTES": "bytes_val",
}
"""Entity key value type -> the ValueProto field that carries it: the types Feast can serialize as a key."""


def entity_key_encoder(view: str, keys: Sequence[tuple[str, str, str]], serialize: Callable[[Any], bytes]) -> Callable[[Mapping[str, Any]], bytes]:
    """Feast's entity key bytes for a request row, built without protobuf objects; checked against Feast once.

    ``keys`` are (join key, request field, ValueProto field) and ``serialize`` is Feast's
    ``serialize_entity_key``. It needs an EntityKey message per row (10 us a request for
    two views); the bytes are a fixed header of join key names and each value packed by
    type, so the header is built once. A probe key must come out equal to Feast's own, or
    this raises: a Feast upgrade cannot make the reader silently miss rows.
    """
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value, ValueType

    ordered = sorted(keys)  # Feast sorts by join key
    header = struct.pack("<I", len(ordered)) + b"".join(
        struct.pack("<II", ValueType.STRING, len(join.encode())) + join.encode() for join, _, _ in ordered
    )
    packers = [(field, _key_packer(kind, ValueType)) for _, field, kind in ordered]
    if len(packers) == 1:  # most views have one entity: no loop per request
        [(field, pack)] = packers

        def encode(row: Mapping[str, Any]) -> bytes:
            return header + pack(row[field])

    else:

        def encode(row: Mapping[str, Any]) -> bytes:
            return header + b"".join(pack(row[field]) for field, pack in packers)

    probe = {field: _KEY_PROBES[kind] for _, field, kind in ordered}
    feast_key = serialize(
        EntityKey(join_keys=[join for join, _, _ in ordered], entity_values=[Value(**{kind: probe[field]}) for _, field, kind in ordered])
    )
    if encode(probe) != feast_key:
        raise ConfigurationError(
            f"feature view {view!r}: this Feast version serializes entity keys differently from "
            "mlops_assets.features.online.entity_key_encoder: update it (tests/unit/test_entity_keys.py shows the gap)"
        )
    return encode


_KEY_PROBES = {"int64_val": -(2**40) - 3, "int32_val": -7, "string_val": "é_probe", "bytes_val": b"\x00probe"}


def _key_packer(kind: str, value_type: Any) -> Callable[[Any], bytes]:
    """One entity value as Feast lays it out in a version-3 key: type, length, little-endian bytes."""
    if kind == "int64_val":
        return functools.partial(struct.pack, "<IIq", value_type.INT64, 8)
    if kind == "int32_val":
        return functools.partial(struct.pack, "<IIi", value_type.INT32, 4)
    type_code = value_type.STRING if kind == "string_val" else value_type.BYTES

    def pack(value: Any) -> bytes:
        data = value.encode() if kind == "string_val" else value
        return struct.pack("<II", type_code, len(data)) + data

    return pack


def key_field(name: str, value_type: str) -> str:
    try:
        return KEY_FIELDS[value_type]
    except KeyError:
        raise ConfigurationError(f"entity key {name!r} has type {value_type}; the online reader handles {', '.join(KEY_FIELDS)}") from None
