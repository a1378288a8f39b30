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
  fit calling a fit) goes straight to the original: nested fits log once. So
  does one made on a worker thread of a pool (joblib, ``concurrent.futures``,
  ``multiprocessing.pool``) while a patched call is in progress on another
  thread: the trees an ``IsolationForest(n_jobs=4)`` fits on joblib's threads
  are its own work, not runs;
* our code leaves no trace the user's code could observe: it never draws from
  the global random generators (Python's, NumPy's, torch's CPU one: their
  states are restored around it), and no warning is ever raised into the
  user's code whatever the warning filters say (``simplefilter("error")``,
  ``-W error``, pytest's ``filterwarnings = error``): other libraries'
  warnings inside our code are silenced, and ours are shown, under the user's
  filters, once our code is done (see :func:`own_code`).

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
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any

from ._warnings import held_back, warn
from .errors import InternalError

Hook = Callable[[Any, tuple, dict], Generator[Any, Any, None]]

_state = threading.local()
_warned: set[str] = set()
#: Threads with a patched call in progress, for telling a pool worker of one apart.
_busy_threads: set[int] = set()
#: Modules whose frames at the bottom of a thread's stack make it a pool worker.
POOL_MODULES = ("joblib.", "concurrent.futures.", "multiprocessing.pool", "loky.")


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
    warn(
        f"autolog: {where} failed and was skipped ({type(exc).__name__}: {exc}); "
        "your training is not affected. Please report this with the traceback from "
        "AUTOLOG_TESTING=1."
    )


@contextlib.contextmanager
def own_code() -> Iterator[None]:
    """Around autolog's own work inside a user's call: no warnings raised, no RNG drawn.

    Warnings other libraries emit while we compute metrics or save a model are
    silenced; autolog's own are held and shown once we are done
    (:func:`~autolog._warnings.held_back`, which leaves ``warnings.showwarning``
    alone, so the notebook's display hook installed meanwhile stays). The
    global random generators are restored afterwards, so a ``predict`` that
    draws (``DummyClassifier(strategy="stratified")``) leaves the user's next
    random number as it would have been.
    """
    saved = _random_states()
    try:
        with held_back():
            yield
    finally:
        for restore, state in saved:
            with contextlib.suppress(Exception):
                restore(state)


def _random_states() -> list[tuple[Callable[[Any], Any], Any]]:
    """Setter and state of each global random generator in use (none is imported for this)."""
    import random  # here, not at import: random costs a millisecond of autolog()'s start-up

    states: list[tuple[Callable[[Any], Any], Any]] = [(random.setstate, random.getstate())]
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        states.append((numpy.random.set_state, numpy.random.get_state()))
    torch = sys.modules.get("torch")
    get_torch_state = getattr(torch, "get_rng_state", None)
    if get_torch_state is not None:
        with contextlib.suppress(Exception):
            states.append((torch.set_rng_state, get_torch_state()))  # type: ignore[union-attr]
    return states


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
    depth = getattr(_state, "depth", 0)
    _state.depth = depth + 1
    if depth == 0:
        _busy_threads.add(threading.get_ident())
    try:
        yield
    finally:
        _state.depth -= 1
        if depth == 0:
            _busy_threads.discard(threading.get_ident())


def on_worker_of_autologged_call() -> bool:
    """True on a pool's worker thread while a patched call is in progress on another thread.

    The pool is then the patched call's own parallel loop (joblib's threads
    fitting an ensemble's estimators), and its fits are part of that call.
    """
    if not _busy_threads or threading.current_thread() is threading.main_thread():
        return False
    frame = sys._getframe(1)
    while frame.f_back is not None:
        frame = frame.f_back
        if frame.f_globals.get("__name__", "").startswith(POOL_MODULES):
            return True
    return False


def safe_patch(integration: str, hook: Hook, *, record_nested: bool = False) -> Callable[..., Any]:
    """Wrap ``hook`` into a wrapt wrapper ``(wrapped, instance, args, kwargs)``; see module doc.

    With ``record_nested`` a call made inside another patched call is recorded
    too (as a child run): for Keras, whose fits never call fit themselves, so a
    fit inside another fit is the user's own (a callback training a model).
    """

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if (in_autologged_call() and not record_nested) or on_worker_of_autologged_call():
            with autologging_suppressed():
                return wrapped(*args, **kwargs)
        with autologging_suppressed():
            with own_code():
                steps, call_args, call_kwargs = _start(integration, hook, instance, args, kwargs)
            try:
                result = wrapped(*call_args, **call_kwargs)
            except BaseException as user_exc:
                traceback = user_exc.__traceback__
                if steps is not None:
                    _state.user_exception = user_exc
                    try:
                        with own_code():
                            _finish(
                                integration,
                                steps,
                                functools.partial(steps.throw, user_exc),
                                user_exc,
                            )
                    finally:
                        _state.user_exception = None
                user_exc.__traceback__ = traceback
                raise
            if steps is not None:
                with own_code():
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
            with own_code():
                try:
                    return method(*args, **kwargs)
                except Exception as exc:
                    report_failure(integration, exc)
                    return None

        return safe

    return decorate
