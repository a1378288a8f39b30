"""Value semantics for the small record classes, without :mod:`dataclasses`.

``import autolog; autolog.autolog()`` defines a handful of record classes
(Config, RunRecord, MetricPoint, Batch...). As dataclasses they cost the
import of dataclasses (and copy) plus the generation and ``exec`` of each
class's methods: milliseconds of a start-up budget of 15. Each class writes
its own ``__init__``; this base gives it what ``@dataclass`` would add.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds of autolog()
if TYPE_CHECKING:
    from typing import Any


class Plain:
    """Equality and repr from the instance's attributes, in the order ``__init__`` set them."""

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq=True

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return vars(self) == vars(other)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__qualname__}({fields})"


class Frozen(Plain):
    """A :class:`Plain` whose attributes cannot change once ``__init__`` has set them."""

    def _set(self, **values: Any) -> None:
        """Set the attributes, in ``__init__`` only."""
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a {type(self).__name__}")

    def __hash__(self) -> int:  # type: ignore[override]  # frozen: hashable, as a frozen dataclass
        return hash(tuple(vars(self).values()))
