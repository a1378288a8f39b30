"""The one safe-patch helper that every integration goes through.

Its promises, whatever our code does:

* the user's call runs exactly once, with the user's arguments (plus, where an
  integration asks for it, our callback added to a copy of their list);
* an exception from the user's call propagates unchanged, same object, same
  traceback;
* an exception from our code is caught and warned about once per integration,
  and the user's call still runs; with ``AUTOLOG_TESTING=1`` it raises
  :class:`~autolog.errors.InternalError` instead, so the test suite sees it;
* a patched call made while another one is in progress on the same thread (a
  fit calling a fit) goes straight to the original: nested fits log once.

An integration writes its recording logic as a generator, in the order things
happen::

    def record_fit(instance, args, kwargs):
        with fit_run("sklearn", ...) as run:      # before the user's call
            result = yield                        # the user's call happens here
            run.log_metrics(...)                  # after it

    wrapt.wrap_function_wrapper(module, "Estimator.fit", safe_patch("sklearn", record_fit))

To change the call's arguments, ``yield (args, kwargs)`` instead of ``yield``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
from collections.abc import Callable, Generator, Iterator
from typing import Any

from .errors import AutologWarning, InternalError

Hook = Callable[[Any, tuple, dict], Generator[Any, Any, None]]

_state = threading.local()
_warned: set[str] = set()


def testing() -> bool:
    """True when ``AUTOLOG_TESTING=1``: our own failures raise instead of warning."""
    return os.environ.get("AUTOLOG_TESTING", "").lower() in ("1", "true", "yes")


def report_failure(where: str, exc: BaseException) -> None:
    """Warn, once per ``where``, that autolog's own code failed; raise in testing mode."""
    if testing():
        raise InternalError(f"autolog failed in {where}: {type(exc).__name__}: {exc}") from exc
    if where in _warned:
        return
    _warned.add(where)
    warnings.warn(
        f"autolog: {where} failed and was skipped ({type(exc).__name__}: {exc}); "
        "your training is not affected. Please report this with the traceback from "
        "AUTOLOG_TESTING=1.",
        AutologWarning,
        stacklevel=3,
    )


def in_autologged_call() -> bool:
    """True while a patched call is in progress on this thread."""
    return getattr(_state, "depth", 0) > 0


def is_user_exception(exc: BaseException) -> bool:
    """True if ``exc`` is the user's own call's exception, being thrown into a recording hook.

    Outside a patched call every exception counts as the user's.
    """
    return not in_autologged_call() or getattr(_state, "user_exception", None) is exc


@contextlib.contextmanager
def autologging_suppressed() -> Iterator[None]:
    """Within this block, patched calls on this thread run without recording."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def safe_patch(integration: str, hook: Hook) -> Callable[..., Any]:
    """Wrap ``hook`` into a wrapt wrapper ``(wrapped, instance, args, kwargs)``; see module doc."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if in_autologged_call():
            return wrapped(*args, **kwargs)
        with autologging_suppressed():
            steps, call_args, call_kwargs = _start(integration, hook, instance, args, kwargs)
            try:
                result = wrapped(*call_args, **call_kwargs)
            except BaseException as user_exc:
                traceback = user_exc.__traceback__
                if steps is not None:
                    _state.user_exception = user_exc
                    try:
                        _finish(
                            integration, steps, functools.partial(steps.throw, user_exc), user_exc
                        )
                    finally:
                        _state.user_exception = None
                user_exc.__traceback__ = traceback
                raise
            if steps is not None:
                _finish(integration, steps, functools.partial(steps.send, result), None)
            return result

    wrapper.__autolog_integration__ = integration  # type: ignore[attr-defined]
    return wrapper


def _start(integration: str, hook: Hook, instance: Any, args: tuple, kwargs: dict):
    steps = None
    try:
        steps = hook(instance, args, kwargs)
        replacement = next(steps)
    except StopIteration:
        return None, args, kwargs
    except Exception as exc:
        _close(steps)
        report_failure(integration, exc)
        return None, args, kwargs
    if replacement is None:
        return steps, args, kwargs
    call_args, call_kwargs = replacement
    return steps, tuple(call_args), dict(call_kwargs)


def _finish(
    integration: str,
    steps: Generator[Any, Any, None],
    resume: Callable[[], Any],
    user_exc: BaseException | None,
) -> None:
    try:
        resume()
    except StopIteration:
        return
    except BaseException as exc:
        if exc is user_exc:
            return
        if not isinstance(exc, Exception):
            raise
        report_failure(integration, exc)
        return
    _close(steps)
    report_failure(integration, RuntimeError("the recording generator yielded twice"))


def _close(steps: Generator[Any, Any, None] | None) -> None:
    if steps is None:
        return
    with contextlib.suppress(Exception):
        steps.close()


def guarded(integration: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a callback method that runs inside the user's fit (Keras, Lightning).

    Its exceptions are reported like any of ours instead of surfacing as the
    user's training error.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def safe(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                report_failure(integration, exc)
                return None

        return safe

    return decorate
