"""Request fields: one declaration per endpoint parameter, used to validate and to document.

MLflow's API is protobuf messages sent as JSON, so a field has a protobuf-ish
type: ``int64`` accepts ``5`` and ``"5"``, ``double`` accepts numbers and the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (protobuf's JSON mapping,
which is how MLflow's client sends a diverging loss). Unknown fields are
ignored, as protobuf does, so newer clients keep working. The same
declarations generate the OpenAPI description (:mod:`autolog.server.openapi`),
so documentation and validation cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._records import encode_float
from .errors import invalid

KINDS = ("string", "int64", "double", "bool", "string[]", "object", "object[]", "view_type")
VIEW_TYPES = {"ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all"}
_VIEW_NUMBERS = {1: "active", 2: "deleted", 3: "all"}
_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Field:
    """One parameter of a request: name, kind (see ``KINDS``), and for lists of objects, items.

    ``aliases`` are older names MLflow still accepts (``run_uuid`` for ``run_id``).
    """

    name: str
    kind: str
    required: bool = False
    doc: str = ""
    items: tuple[Field, ...] = ()
    item_schema: str = ""
    aliases: tuple[str, ...] = ()
    default: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name!r}: unknown kind {self.kind!r}")


def parse_fields(fields: tuple[Field, ...], data: Mapping[str, Any], where: str = "") -> dict:
    """Validate ``data`` against ``fields``; return the typed values (defaults for absent ones).

    Raises an ``INVALID_PARAMETER_VALUE`` error naming the field and its value.
    """
    values: dict[str, Any] = {}
    for field in fields:
        raw = data.get(field.name)
        for alias in field.aliases:
            if raw is None:
                raw = data.get(alias)
        label = f"{where}{field.name}"
        if raw is None or (raw == [] and field.required):
            if field.required:
                raise invalid(f"missing value for required parameter {label!r}")
            values[field.name] = field.default
            continue
        values[field.name] = _convert(field, raw, label)
    return values


def _convert(field: Field, raw: Any, label: str) -> Any:
    kind = field.kind
    if kind == "string":
        return parse_string(raw, label)
    if kind == "int64":
        return parse_int64(raw, label)
    if kind == "double":
        return parse_double(raw, label)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise invalid(f"parameter {label!r} must be true or false, got {_show(raw)}")
    if kind == "view_type":
        return parse_view_type(raw, label)
    if kind == "object":
        if not isinstance(raw, dict):
            raise invalid(f"parameter {label!r} must be an object, got {_show(raw)}")
        return parse_fields(field.items, raw, f"{label}.")
    if not isinstance(raw, list):
        raw = [raw] if kind == "string[]" and isinstance(raw, str) else raw
        if not isinstance(raw, list):
            raise invalid(f"parameter {label!r} must be a list, got {_show(raw)}")
    if kind == "string[]":
        return [parse_string(item, f"{label}[{index}]") for index, item in enumerate(raw)]
    parsed = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise invalid(f"parameter {label}[{index}] must be an object, got {_show(item)}")
        parsed.append(parse_fields(field.items, item, f"{label}[{index}]."))
    return parsed


def parse_string(raw: Any, label: str) -> str:
    """Text every database can store: no NUL character (PostgreSQL refuses it) and no
    lone UTF-16 surrogate (not Unicode, SQLite's driver refuses it), so such a value gets a
    400 naming it, never a 500 from deep inside the database."""
    if not isinstance(raw, str):
        raise invalid(f"parameter {label!r} must be a string, got {_show(raw)}")
    if "\x00" in raw:
        raise invalid(
            f"parameter {label!r} contains a NUL character, which cannot be stored: "
            f"{_show(raw)}; remove it"
        )
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(
            f"parameter {label!r} contains a lone UTF-16 surrogate, which is not text: "
            f"{_show(raw)}; send valid Unicode"
        ) from None
    return raw


def parse_int64(raw: Any, label: str) -> int:
    """An int64 as protobuf's JSON mapping allows it: a whole number, or its decimal text."""
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
        raise invalid(f"parameter {label!r} must be a 64-bit whole number, got {_show(raw)}")
    return value


def parse_double(raw: Any, label: str) -> float:
    """A double: a JSON number, ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` or a number's text."""
    if isinstance(raw, bool):
        raise invalid(f"parameter {label!r} must be a number, got {_show(raw)}")
    if isinstance(raw, (int, float)):
        try:
            return float(raw)
        except OverflowError:
            raise invalid(f"parameter {label!r} is out of range for a double: {raw}") from None
    if isinstance(raw, str):
        if raw in _SPECIAL_DOUBLES:
            return _SPECIAL_DOUBLES[raw]
        try:
            return float(raw)
        except ValueError:
            pass
    raise invalid(f"parameter {label!r} must be a number, got {_show(raw)}")


def parse_view_type(raw: Any, label: str) -> str:
    """``ACTIVE_ONLY``/``DELETED_ONLY``/``ALL`` (or 1/2/3) as ``active``/``deleted``/``all``."""
    if isinstance(raw, str) and raw.upper() in VIEW_TYPES:
        return VIEW_TYPES[raw.upper()]
    number = raw if isinstance(raw, int) else (int(raw) if str(raw).isdigit() else None)
    if number in _VIEW_NUMBERS:
        return _VIEW_NUMBERS[number]
    raise invalid(f"parameter {label!r} must be ACTIVE_ONLY, DELETED_ONLY or ALL, got {_show(raw)}")


def encode_double(value: float) -> float | str:
    """A double for a JSON response: NaN and infinities as protobuf's strings, others as numbers."""
    return encode_float(value)  # type: ignore[return-value]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# The nested objects of log-batch, shared by several endpoints.
METRIC = (
    Field("key", "string", required=True, doc="metric name"),
    Field("value", "double", required=True, doc='number, or "NaN", "Infinity", "-Infinity"'),
    Field("timestamp", "int64", required=True, doc="milliseconds since the epoch"),
    Field("step", "int64", default=0, doc="training step or epoch (default 0)"),
)
PARAM = (
    Field("key", "string", required=True),
    Field("value", "string", required=True),
)
TAG = (
    Field("key", "string", required=True),
    Field("value", "string", required=True),
)
