"""Turn whatever the user or a framework hands us into clean journal values.

Everything passes through here before it reaches the journal, so that a typo
gives a clear error naming the value, a secret never lands on disk (the rules
are in :mod:`autolog._redaction`), and the journal only ever holds plain
strings and floats.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from typing import Any

# REDACTED and strip_credentials are imported from here by the modules that predate _redaction.
from ._redaction import REDACTED, active, strip_credentials  # noqa: F401
from .errors import AutologWarning, InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000

_checked_keys: set[str] = set()


def check_key(key: object, what: str = "key") -> str:
    """Return ``key`` if it can name a metric, param, tag or artifact, else raise.

    Keys become file paths in some backends and URL parts in others, so absolute
    paths and ``..`` are refused everywhere. Valid keys are cached: this runs on
    every metric and must cost nothing the second time.
    """
    if key in _checked_keys:
        return key  # type: ignore[return-value]
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"{what} {key!r} must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{what} {key[:40]!r}... is {len(key)} characters long; "
            f"the limit is {MAX_KEY_LENGTH}: use a shorter name"
        )
    if key.startswith(("/", "\\")) or re.match(r"^[a-zA-Z]:[\\/]", key):
        raise InvalidInputError(f"{what} {key!r} looks like an absolute path: use a relative name")
    if ".." in re.split(r"[\\/]", key):
        raise InvalidInputError(f"{what} {key!r} contains '..': use a name without it")
    if any(ord(c) < 32 for c in key):
        raise InvalidInputError(f"{what} {key!r} contains a control character: remove it")
    if len(_checked_keys) < 100_000:
        _checked_keys.add(key)
    return key


def metric_value(key: str, value: Any) -> float:
    """Convert a metric value to float, or raise naming the key.

    Accepts Python and numpy numbers, booleans and single-element tensors; NaN
    and infinities are kept as they are, because a diverging loss is a result too.
    """
    if type(value) is float:
        return value
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidInputError(
            f"metric {key!r} must be a number, got {value!r} ({type(value).__name__}); "
            "log text with set_tags() or log_params() instead"
        )
    try:
        item = getattr(value, "item", None)
        return float(item() if callable(item) else value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InvalidInputError(
            f"metric {key!r} must be a number, got {_short(value)} ({type(value).__name__}); "
            "log text with set_tags() or log_params() instead"
        ) from exc


def is_metric_value(value: Any) -> bool:
    """True if :func:`metric_value` would accept ``value``; integrations use it to skip the rest."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        return False
    try:
        metric_value("_", value)
    except InvalidInputError:
        return False
    return True


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into dotted keys: ``{"opt": {"lr": 1}}`` -> ``{"opt.lr": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def text_value(value: Any) -> str:
    """Render a param or tag value as the string the journal stores.

    Lists and tuples become JSON (``[64, 32]``) so they read back unambiguously;
    numpy scalars and 0-d tensors become their Python value first.
    """
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) in (0, None) and _size(value) == 1:
        try:
            return str(item())
        except (TypeError, ValueError, RuntimeError):
            pass
    if isinstance(value, (list, tuple)):
        try:
            return json.dumps([_plain(v) for v in value])
        except (TypeError, ValueError):
            return str(list(value))
    if isinstance(value, Mapping):
        try:
            return json.dumps({str(k): _plain(v) for k, v in value.items()})
        except (TypeError, ValueError):
            return str(dict(value))
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return str(value)


def clean_texts(values: Mapping[str, Any], what: str, limit: int) -> dict[str, str]:
    """Validate keys, stringify, redact (see :mod:`autolog._redaction`) and truncate."""
    cleaned: dict[str, str] = {}
    redactor = active()
    for key, value in flatten(values).items():
        check_key(key, what)
        if isinstance(value, (list, tuple)):  # lists of dicts: [{"password": ...}]
            value = redactor.redact_structure(value)
        text = redactor.redact(key, text_value(value))
        if len(text) > limit:
            warnings.warn(
                f"{what} {key!r} is {len(text)} characters long; it was truncated to {limit}",
                AutologWarning,
                stacklevel=4,
            )
            text = text[:limit]
        cleaned[key] = text
    return cleaned


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    item = getattr(value, "item", None)
    if callable(item) and _size(value) == 1:
        try:
            return item()
        except (TypeError, ValueError, RuntimeError):
            pass
    return str(value)


def _size(value: Any) -> int:
    size = getattr(value, "size", 1)
    if callable(size):  # torch tensors: .size() is the shape
        size = getattr(value, "numel", lambda: 1)()
    try:
        return int(size)
    except (TypeError, ValueError):
        return 1


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
