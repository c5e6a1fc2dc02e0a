"""Conversions between protobuf ``Struct``/``Timestamp`` values and plain Python values."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

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


def message_to_dict(message: Message) -> dict[str, Any]:
    """Returns a message as a dict of plain Python values, keyed by its field names.

    Every field is present (unset ones with their default; unset optional and message
    fields as None). Timestamps become aware UTC datetimes, ``Struct`` fields dicts, enum
    values their names without the enum's prefix, and nested messages dicts.
    """
    result: dict[str, Any] = {}
    for fd in message.DESCRIPTOR.fields:
        value = getattr(message, fd.name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            result[fd.name] = {k: _field_value(value_fd, v) for k, v in value.items()}
        elif fd.is_repeated:
            result[fd.name] = [_field_value(fd, v) for v in value]
        elif fd.has_presence and not message.HasField(fd.name):
            result[fd.name] = None
        else:
            result[fd.name] = _field_value(fd, value)
    return result


def _field_value(fd: Any, value: Any) -> Any:
    if fd.type == FieldDescriptor.TYPE_ENUM:
        assert fd.enum_type is not None
        name = fd.enum_type.values_by_number[value].name if value in fd.enum_type.values_by_number else str(value)
        prefix = _enum_prefix(fd.enum_type.name)
        return name.removeprefix(prefix)
    if fd.type != FieldDescriptor.TYPE_MESSAGE:
        return value
    if isinstance(value, struct_pb2.Struct):
        return struct_to_dict(value)
    if isinstance(value, timestamp_pb2.Timestamp):
        return value.ToDatetime(tzinfo=_dt.timezone.utc)
    return message_to_dict(value)


def _enum_prefix(enum_name: str) -> str:
    # WorkflowStatus -> WORKFLOW_STATUS_, the prefix every value of a baton.v1 enum carries.
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(enum_name)).upper() + "_"
