"""Strict request parsing: every rejected input gets a status and the name of the field at fault."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from typing import Any

import orjson

from mlops_assets.serving.contract import FieldSpec
from mlops_assets.specs.contract import compiled_pattern

REQUEST_ID = "request_id"
MAX_REQUEST_ID_CHARS = 128  # ids are echoed and logged: bound what a client can make us store
MAX_BATCH_ROWS = 1000
"""Default cap on the rows of one ``POST /predict/batch`` (``mlops serve --max-batch-rows``)."""
MAX_BODY_BYTES = 1 << 19
"""Default cap on a request body (``mlops serve --max-body-bytes``): 512 KiB, so a full batch fits.

A credit row with every field at its longest and a 128-character request id is under 400
bytes of JSON, so ``MAX_BATCH_ROWS`` of them are under 400 KB (``tests/unit/test_serving_app.py``
checks it).
"""

# Ids the server makes: 16 random hex digits per process, then a counter. As unique as uuid4
# for this use, without uuid4's system call for randomness and object on every request.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


class RequestError(Exception):
    """A request the server refuses; ``status`` is the HTTP code, ``field`` the offending field if any."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


BATCH_KEYS = frozenset({"rows"})


def parse_rows(
    body: bytes, fields: Sequence[FieldSpec], *, batch: bool, max_rows: int, reject_unknown: bool = True
) -> list[dict[str, Any]]:
    """Validate a single (``{...}``) or batch (``{"rows": [...]}``) body into rows.

    Each row holds exactly the declared fields (ints widened to float for float fields)
    plus ``request_id``: the client's, or a fresh 32-hex-digit id. Any other field is a 422
    naming it, or, without ``reject_unknown``, dropped.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        _refuse_non_finite(body)
        raise RequestError(400, None, f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        shape = '{"rows": [{...}, ...]}' if batch else "{...} with one row's fields"
        raise RequestError(400, None, f"body must be a JSON object {shape}, got {_json_type(doc)}")
    allowed = frozenset(spec.name for spec in fields) | {REQUEST_ID} if reject_unknown else None
    if not batch:
        return [_parse_row(doc, fields, "", allowed)]
    refuse_unknown(doc, BATCH_KEYS, taker="a batch body", hint=' ({"rows": [...]})')
    items = doc.get("rows")
    if not isinstance(items, list):
        raise RequestError(422, "rows", f'"rows" must be a list of row objects, got {_json_type(items)}')
    if not items:
        raise RequestError(422, "rows", '"rows" must not be empty')
    if len(items) > max_rows:
        raise RequestError(413, "rows", f"too many rows: {len(items)} > {max_rows} allowed per request")
    rows = []
    for i, item in enumerate(items):
        prefix = f"rows[{i}]"
        if not isinstance(item, dict):
            raise RequestError(422, prefix, f"{prefix} must be an object, got {_json_type(item)}")
        rows.append(_parse_row(item, fields, prefix + ".", allowed))
    return rows


def refuse_unknown(doc: dict[str, Any], allowed: frozenset[str], *, prefix: str = "", taker: str, hint: str = "") -> None:
    """A 422 naming every key of ``doc`` outside ``allowed`` (the first is the error's field)."""
    if unknown := sorted(doc.keys() - allowed):
        raise RequestError(
            422, prefix + unknown[0], f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(prefix + n for n in unknown)}: "
            f"{taker} takes {', '.join(sorted(allowed))}{hint}",
        )


class _NonFinite(str):
    """Where a NaN, Infinity or -Infinity literal stood in a body."""


def _refuse_non_finite(body: bytes) -> None:
    """NaN and Infinity are not JSON; orjson refuses them without saying where: name the field."""
    if b"NaN" not in body and b"Infinity" not in body:
        return
    try:
        doc = json.loads(body, parse_constant=_NonFinite)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's parser goes (orjson stops at 1024)
        return  # invalid for another reason: the caller says so
    where = _non_finite_path(doc, "")
    if where is not None:
        path, literal = where
        raise RequestError(422, path or None, f"{path or 'the body'} must be a finite number, got {literal}")


def _non_finite_path(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, _NonFinite):
        return path, str(value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _non_finite_path(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _parse_row(item: dict[str, Any], fields: Sequence[FieldSpec], prefix: str, allowed: frozenset[str] | None) -> dict[str, Any]:
    row = {spec.name: _check(item, spec, prefix + spec.name) for spec in fields}
    if allowed is not None:
        refuse_unknown(item, allowed, prefix=prefix, taker="this model", hint=" (a spec with unknown_request_fields='ignore' drops others)")
    request_id = item.get(REQUEST_ID)
    if request_id is None:
        request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"
    elif not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_REQUEST_ID_CHARS:
        raise RequestError(
            422, prefix + REQUEST_ID, f"{prefix}{REQUEST_ID} must be a string of 1 to {MAX_REQUEST_ID_CHARS} characters"
        )
    row[REQUEST_ID] = request_id
    return row


def _check(item: dict[str, Any], spec: FieldSpec, where: str) -> Any:
    """One field's value, or a RequestError saying what is wrong with it."""
    if spec.name not in item:
        raise RequestError(422, where, f"missing field {where} ({spec.kind})")
    value = item[spec.name]
    if value is None and spec.nullable:
        return None
    # bool is a subclass of int, and numeric strings are not numbers: both are refused.
    if spec.kind == "int":
        ok = type(value) is int
    elif spec.kind == "float":
        ok = type(value) is float or type(value) is int
        if ok:
            value = float(value)
    else:
        ok = type(value) is str
    if not ok:
        raise RequestError(422, where, f"{where} must be {_article(spec.kind)}, got {_json_type(value)}")
    if spec.max_length is not None and type(value) is str and len(value) > spec.max_length:
        raise RequestError(422, where, f"{where} must be at most {spec.max_length} characters, got {len(value)}")
    if spec.pattern is not None and type(value) is str and not compiled_pattern(spec.pattern).fullmatch(value):
        raise RequestError(422, where, f"{where} must match {spec.pattern}, got {value[:40]!r}")
    if spec.choices is not None and value not in spec.choices:
        raise RequestError(422, where, f"{where} must be one of {', '.join(map(repr, spec.choices))}, got {value!r}")
    low, high = spec.minimum, spec.maximum
    if spec.kind != "str":
        below = low is not None and (value <= low if spec.exclusive_minimum else value < low)
        if below or (high is not None and value > high):
            raise RequestError(422, where, f"{where} must be {_range(low, high, spec.exclusive_minimum)}, got {value!r}")
    return value


def _range(low: float | None, high: float | None, exclusive: bool = False) -> str:
    if low is not None and high is not None:
        return f"above {_num(low)} and at most {_num(high)}" if exclusive else f"between {_num(low)} and {_num(high)}"
    if low is not None:
        return f"{'>' if exclusive else '>='} {_num(low)}"
    return f"<= {_num(high)}"


def _num(bound: float | None) -> str:
    """A bound as people write it: 1000000, not 1e+06 or 1000000.0."""
    return str(int(bound)) if bound is not None and float(bound).is_integer() else str(bound)


def _article(kind: str) -> str:
    return {"int": "an integer", "float": "a number", "str": "a string"}[kind]


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, as a client would write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return "a list" if isinstance(value, list) else "an object"
