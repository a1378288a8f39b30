"""Keep the secrets that params never show out of the saved model file too.

A LightningModule's ``save_hyperparameters()`` keeps ``hf_token`` in
``hparams`` (and in ``_hparams_initial``), a custom estimator keeps
``api_key`` as an attribute: the journal shows ``***``, but pickling the model
would write the token into ``model.pkl`` beside it. While a model is saved,
:func:`secrets_hidden` replaces every string whose name is secret by the rule
of :mod:`autolog._redaction` (attributes, hparams mappings, nested objects, a
few levels deep) with ``***``, and puts the originals back afterwards, so the
user's object is unchanged. A secret it cannot replace (inside a tuple, a
read-only attribute, a value that is not a string) is named in one warning,
so the user knows the model file carries it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from ._redaction import REDACTED, Redactor, active
from ._warnings import warn

MAX_DEPTH = 4
_LEAVES = (str, bytes, int, float, bool, type(None))
#: How the walk treats a value, decided once per type (a fitted statsmodels result
#: holds hundreds of arrays: an ABC isinstance check for each cost half a millisecond).
_LEAF, _MAPPING, _SEQUENCE, _OBJECT = "leaf", "mapping", "sequence", "object"


@contextmanager
def secrets_hidden(model: Any) -> Iterator[list[str]]:
    """Within the block, the model's secret-named strings read ``***``; yields their names."""
    walk = _Walk(active())
    walk.visit(model, (type(model).__name__,), 0)
    try:
        for container, key, _ in walk.replaced:
            _put(container, key, REDACTED)
        yield [_name(path) for path in walk.names]
    finally:
        for container, key, original in reversed(walk.replaced):
            _put(container, key, original)
    if walk.kept:
        warn(
            "autolog: the saved model file still holds what looks like a secret in "
            + ", ".join(_name(path) for path in walk.kept[:5])
            + "; hide it from the model (pass it at run time, not as a hyperparameter)"
        )


#: Where a value sits, as ``(parent path, kind, key)`` links down from the model's class
#: name (kind "." an attribute, "[]" a mapping key, "..." an item of a list or tuple):
#: the readable name is only made for the secrets found, not for each of the thousands
#: of values a fitted model holds.
Path = tuple[Any, ...]


def _name(path: Path) -> str:
    parts: list[str] = []
    while len(path) == 3:
        path, kind, key = path
        parts.append(f".{key}" if kind == "." else "[...]" if kind == "..." else f"[{key!r}]")
    return path[0] + "".join(reversed(parts))


class _Walk:
    """Finds secret-named values in an object graph, depth-first, each object once."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.replaced: list[tuple[Any, Any, Any]] = []
        self.names: list[Path] = []
        self.kept: list[Path] = []
        self.seen: set[int] = set()

    def visit(self, value: Any, path: Path, depth: int) -> None:
        kind = _kind(type(value))  # type: ignore[arg-type]  # classes are hashable
        if kind is _LEAF or depth > MAX_DEPTH or id(value) in self.seen:
            return
        self.seen.add(id(value))
        if kind is _MAPPING:
            for key in list(value.keys()):
                self._member(value, key, value[key], (path, "[]", key), depth)
        elif kind is _SEQUENCE:
            inside = (path, "...", None)
            for item in value[:1000]:
                self.visit(item, inside, depth + 1)
        else:
            attributes = _attributes(value)
            if attributes is not None:
                for key, item in list(attributes.items()):
                    self._member(attributes, key, item, (path, ".", key), depth)

    def _member(self, container: Any, key: Any, value: Any, path: Path, depth: int) -> None:
        secret = isinstance(key, str) and self.redactor.is_secret_key(key.lstrip("_"))
        if not secret or value is None or value == "" or value == REDACTED:
            self.visit(value, path, depth + 1)
        elif isinstance(value, str) and isinstance(container, MutableMapping):
            self.replaced.append((container, key, value))
            self.names.append(path)
        elif isinstance(value, (bool, int, float)):
            return  # a flag or a number (use_auth_token=True) is no credential
        else:
            self.kept.append(path)


@functools.lru_cache(maxsize=1024)  # bounded: classes made in a loop are not all kept
def _kind(cls: type) -> str:
    """Leaves hold no named value: strings and numbers, and numpy's arrays and scalars,
    whose items have no names a secret could go by."""
    if issubclass(cls, _LEAVES) or (
        cls.__module__ == "numpy" and hasattr(cls, "__array_interface__")
    ):
        return _LEAF
    if issubclass(cls, MutableMapping):
        return _MAPPING
    if issubclass(cls, (list, tuple)):
        return _SEQUENCE
    return _OBJECT


def _attributes(value: Any) -> dict[str, Any] | None:
    """The instance ``__dict__`` of a user or framework object; None for modules, classes..."""
    if isinstance(value, type):
        return None
    attributes = getattr(value, "__dict__", None)
    if not isinstance(attributes, dict) or type(value).__module__ in ("builtins", "types"):
        return None
    return attributes


def _put(container: MutableMapping[Any, Any], key: Any, value: Any) -> None:
    # Item assignment, also into an object's __dict__: no __setattr__ hook (torch's
    # Module, a frozen dataclass) runs while the model is saved.
    container[key] = value
