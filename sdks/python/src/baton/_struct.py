"""Conversions between protobuf ``Struct``/``Timestamp`` values and plain Python values."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

# Integral doubles up to this magnitude come back as Python ints (JSON has one number type;
# a workflow input written as 3 should reach a handler as 3, not 3.0).
_MAX_EXACT_INT = 2**53


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    """Returns a ``Struct`` as a dict of plain Python values."""
    return {key: _value_to_python(item) for key, item in value.fields.items()}


def _value_to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and -_MAX_EXACT_INT <= number <= _MAX_EXACT_INT:
            return int(number)
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_value_to_python(item) for item in value.list_value.values]
    return None


def dict_to_struct(value: Mapping[str, Any] | None, target: struct_pb2.Struct | None = None) -> struct_pb2.Struct:
    """Fills ``target`` (or a new ``Struct``) from a mapping of JSON-like values.

    Besides JSON types, dataclass instances, enums, tuples, sets, datetimes and dates are
    accepted and converted (to objects, their values, lists and ISO-8601 text).
    """
    struct = struct_pb2.Struct() if target is None else target
    if not value:
        return struct
    try:
        struct.update(value)
    except (TypeError, ValueError, AttributeError):
        struct.Clear()
        struct.update(to_jsonable(dict(value)))
    return struct


def to_jsonable(value: Any) -> Any:
    """Converts a value to JSON-compatible Python types, recursively."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{value!r} cannot be represented in JSON")
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    raise TypeError(f"value of type {type(value).__name__} cannot be represented in JSON")


def timestamp_to_datetime(message: Any, field: str) -> _dt.datetime | None:
    """Returns a ``Timestamp`` field of ``message`` as an aware UTC datetime, or None if unset."""
    if not message.HasField(field):
        return None
    ts: timestamp_pb2.Timestamp = getattr(message, field)
    return ts.ToDatetime(tzinfo=_dt.timezone.utc)


def datetime_to_timestamp(value: _dt.datetime, target: timestamp_pb2.Timestamp) -> None:
    """Sets ``target`` from a datetime (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    target.FromDatetime(value)
