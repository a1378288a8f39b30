"""What the scikit-learn and statsmodels integrations share: patching a class tree, lazily.

Both frameworks define hundreds of model classes, each with its own ``fit``,
spread over modules the user may never import. Importing them all to patch
them would cost seconds, so :class:`SubclassPatcher` patches the subclasses
that exist when the framework's base module is imported and then hooks
``__init_subclass__`` on the base class to patch every later one (the
framework's own, a third-party library's or the user's) as it is defined.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Generator, Iterable
from types import FrameType
from typing import Any

from ..errors import ModelNotSavedError
from ..integration import safe_patch
from ..run import Run

Hook = Callable[[Any, tuple, dict], Generator[Any, Any, None]]

_OWN_MODULES = ("autolog.", "wrapt.")


class SubclassPatcher:
    """Wraps ``method_names`` wherever ``base`` or one of its subclasses defines them.

    ``make_hook(cls, name, original)`` returns the recording generator for one
    method, which is wrapped with ``safe_patch(integration, ...)``. Only
    methods in a class's own ``__dict__`` are wrapped: an inherited method is
    reached through the parent's wrapper, and a subclass calling
    ``super().fit()`` meets the reentrancy guard, so it is still recorded once.
    """

    def __init__(
        self,
        base: type,
        method_names: Iterable[str],
        integration: str,
        make_hook: Callable[[type, str, Any], Hook],
    ) -> None:
        self.base = base
        self.method_names = tuple(method_names)
        self.integration = integration
        self.make_hook = make_hook
        self.active = False
        self._patched: list[tuple[type, str, Any, Any]] = []  # class, name, original, wrapper
        self._own_init_subclass: Any = None
        self._init_subclass_hook: Any = None

    def patch(self) -> None:
        """Patch the existing class tree, then every subclass defined from now on."""
        self.active = True
        for cls in _class_tree(self.base):
            self.patch_class(cls)
        self._hook_init_subclass()

    def unpatch(self) -> None:
        """Restore every wrapped method and ``__init_subclass__``.

        A method that was wrapped again after us cannot be restored without
        removing the outer wrapper too; ours stays inside it, switched off by
        ``active``, and passes calls straight through. (scikit-learn itself
        does this: ``set_output`` re-wraps the ``fit_transform`` of transformers
        defined while autolog is on.)
        """
        self.active = False
        base = self.base
        if base.__dict__.get("__init_subclass__") is self._init_subclass_hook:
            if self._own_init_subclass is None:
                delattr(base, "__init_subclass__")
            else:
                base.__init_subclass__ = self._own_init_subclass  # type: ignore[method-assign]
        for cls, name, original, wrapper in reversed(self._patched):
            if cls.__dict__.get(name) is wrapper:
                setattr(cls, name, original)
        self._patched.clear()

    def patch_class(self, cls: type) -> None:
        """Wrap the methods ``cls`` itself defines (functions or method descriptors)."""
        import wrapt

        for name in self.method_names:
            original = cls.__dict__.get(name)
            if not _is_method(original):
                continue
            hook = self._switchable(self.make_hook(cls, name, original))
            wrapper = wrapt.wrap_function_wrapper(cls, name, safe_patch(self.integration, hook))
            self._patched.append((cls, name, original, wrapper))

    def _switchable(self, hook: Hook) -> Hook:
        """``hook`` while patched; afterwards nothing, for a wrapper that could not be removed."""

        def record(instance: Any, args: tuple, kwargs: dict) -> Generator[Any, Any, None]:
            if self.active:
                yield from hook(instance, args, kwargs)

        return record

    def _hook_init_subclass(self) -> None:
        # Written by hand rather than with wrapt: the inherited __init_subclass__
        # may be a builtin (object's), through which wrapt cannot tell us the class.
        base = self.base
        own = base.__dict__.get("__init_subclass__")
        patcher = self

        def __init_subclass__(cls: type, **kwargs: Any) -> None:
            if own is not None:
                own.__get__(None, cls)(**kwargs)
            else:
                super(base, cls).__init_subclass__(**kwargs)  # type: ignore[arg-type]
            if patcher.active:
                patcher.patch_class(cls)

        self._own_init_subclass = own
        self._init_subclass_hook = classmethod(__init_subclass__)
        base.__init_subclass__ = self._init_subclass_hook  # type: ignore[method-assign]


def _class_tree(base: type) -> list[type]:
    """``base`` and all its subclasses, each once."""
    seen: dict[type, None] = {base: None}
    pending: list[type] = [base]
    while pending:
        subclass: type
        for subclass in type.__subclasses__(pending.pop()):
            if subclass not in seen:
                seen[subclass] = None
                pending.append(subclass)
    return list(seen)


def _is_method(value: Any) -> bool:
    """Plain functions and method descriptors such as sklearn's ``available_if``."""
    if value is None or isinstance(value, (property, classmethod, staticmethod, type)):
        return False
    return callable(value) or hasattr(type(value), "__get__")


def caller_module() -> str:
    """Name of the module that made the patched call: the first frame outside autolog and wrapt.

    Integrations use it to tell the user's own ``fit()`` from one a framework
    makes on its own behalf (a cross-validation fold, a statistical test).
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(_OWN_MODULES):
            return name
        frame = frame.f_back
    return ""


def log_model_if_picklable(run: Run, model: Any) -> None:
    """``run.log_model(model)``, skipped for a model that cannot be pickled.

    The flavor's save hook has then warned why (:func:`warn_not_picklable`) and
    returned None, so no plugin saved it; the run keeps everything else.
    """
    with contextlib.suppress(ModelNotSavedError):
        run.log_model(model)


def warn_not_picklable(model: Any, exc: BaseException) -> None:
    """Tell the user why their run has no model, in words they can act on."""
    from ._saving import warn_unsaveable

    warn_unsaveable(model, exc)
