"""Value semantics for the small record classes, without :mod:`dataclasses`.

``import autolog; autolog.autolog()`` defines a handful of record classes
(Config, RunRecord, MetricPoint, Batch...). As dataclasses they cost the
import of dataclasses (and copy) plus the generation and ``exec`` of each
class's methods: milliseconds of a start-up budget of 15. Each class writes
its own ``__init__`` or, as a :class:`Fields`, declares its fields and gets one;
this module gives them what ``@dataclass`` would add.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds of autolog()
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, TypeVar

    from typing_extensions import dataclass_transform  # typing's from Python 3.11

    T = TypeVar("T")
else:

    def dataclass_transform(**_options: object) -> object:
        """typing's marker for type checkers; at run time the class is left as it is."""
        return lambda cls: cls


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


class _Factory:
    """The default of a :func:`field`: made anew for each instance."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field's default made anew for each instance (a list, a dict), as dataclasses' field."""
    return _Factory(default_factory)  # type: ignore[return-value]


@dataclass_transform(eq_default=True, field_specifiers=(field,))
class Fields(Plain):
    """A :class:`Plain` whose ``__init__`` comes from its annotated fields, in order.

    Fields without a default come first and are required; a :func:`field` made by
    a factory also takes ``None`` for "a fresh one", as the hand-written
    constructors these classes replace did (``params=None`` is an empty dict).
    Type checkers see the constructor through ``dataclass_transform``.
    """

    _names: ClassVar[tuple[str, ...]] = ()
    #: Per field, in order: its name, its default (``_REQUIRED`` if none), whether a factory.
    _plan: ClassVar[tuple[tuple[str, Any, bool], ...]] = ()

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            for name, hint in vars(klass).get("__annotations__", {}).items():
                if name not in names and not str(hint).startswith(("ClassVar", "typing.ClassVar")):
                    names.append(name)
        cls._names = tuple(names)
        defaults = [getattr(cls, name, _REQUIRED) for name in names]
        cls._plan = tuple(
            (name, default, isinstance(default, _Factory))
            for name, default in zip(names, defaults, strict=True)
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Built once per record read back (a page of 1,000 runs builds 1,000): one pass over
        # the class's plan, no intermediate dict.
        plan = self._plan
        if len(args) > len(plan):
            raise TypeError(f"{type(self).__name__}() takes {len(plan)} arguments, got {len(args)}")
        attributes = self.__dict__
        for (name, default, factory), value in zip(plan, args, strict=False):
            attributes[name] = default.make() if factory and value is None else value
        for name, default, factory in plan[len(args) :]:
            value = kwargs.pop(name, default)
            if value is _REQUIRED:
                raise TypeError(f"{type(self).__name__}() is missing the argument {name!r}")
            if factory and (value is default or value is None):
                value = default.make()
            attributes[name] = value
        if kwargs:
            name = next(iter(kwargs))
            problem = "a second value for" if name in self._names else "an unexpected argument"
            raise TypeError(f"{type(self).__name__}() got {problem} {name!r}")


_REQUIRED = object()
