"""The plugin SDK: what a framework integration is written with.

``Integration`` is the class a plugin registers (``autolog_register_integrations``);
``safe_patch`` turns a recording generator into a wrapper that can never break
the user's call; ``fit_run()`` is the run of one fit, started and ended for
you; ``attach_run`` lets a worker process log into its parent's run;
``autologging_suppressed()`` keeps your own calls (a ``torch.save`` in a save
hook) from being recorded. See docs/writing-integrations.md for a walkthrough.

The registry that patches integrations when their framework is imported is
private (``autolog._integrations``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from ._config import Config
from ._patch import (
    autologging_suppressed,
    guarded,
    in_autologged_call,
    is_user_exception,
    report_failure,
    safe_patch,
)
from ._validation import is_metric_value
from .errors import ConfigurationError
from .run import Run, status_for

__all__ = [
    "Integration",
    "attach_run",
    "autologging_suppressed",
    "fit_run",
    "guarded",
    "in_autologged_call",
    "is_metric_value",
    "report_failure",
    "safe_patch",
    "scalars",
    "start_fit_run",
    "status_for",
    "steps_option",
    "unwrap",
]


class Integration:
    """Base class of framework integrations; see docs/writing-integrations.md.

    Subclasses set ``name`` (what users pass in ``integrations=[...]``),
    ``module`` (the import that triggers patching), ``supported_versions`` (a
    requirement string, e.g. ``"scikit-learn>=1.3"``) and, optionally,
    ``options``: extra ``autolog(**options)`` names with their defaults. They
    implement ``patch(config)`` and ``unpatch()``, which mirror each other.
    """

    name: ClassVar[str]
    module: ClassVar[str]
    supported_versions: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.config: Config | None = None

    @classmethod
    def check_options(cls, config: Config) -> None:
        """Raise ConfigurationError for a bad value of one of ``options``.

        Called by ``autolog()`` before anything is patched, so that a typo is
        the user's error at the line they wrote, not a warning at import time.
        Read a value with ``config.option(name)``; the default of ``options``
        applies when the user did not pass it. Without an override every value
        is accepted as given.
        """

    def patch(self, config: Config) -> None:
        raise NotImplementedError

    def unpatch(self) -> None:
        raise NotImplementedError

    @classmethod
    def distribution(cls) -> str:
        """The distribution named by ``supported_versions`` (e.g. ``scikit-learn``)."""
        from packaging.requirements import Requirement

        return Requirement(cls.supported_versions).name

    @classmethod
    def installed_version(cls) -> str | None:
        from importlib import metadata

        try:
            return metadata.version(cls.distribution())
        except metadata.PackageNotFoundError:
            return None


def start_fit_run(integration: str, name: str, tags: dict[str, Any] | None = None) -> Run:
    """Start the run of one autologged fit, a child of the active run if there is one.

    The run is tagged ``autolog.integration`` so readers can tell autologged
    runs from the user's own ``start_run()`` blocks.
    """
    from ._session import session

    return session.start_run(name=name, tags={"autolog.integration": integration, **(tags or {})})


@contextlib.contextmanager
def fit_run(integration: str, name: str, tags: dict[str, Any] | None = None) -> Iterator[Run]:
    """The run of one autologged fit, for a ``safe_patch`` hook: ``with fit_run(...) as run:``.

    Starts the run (see :func:`start_fit_run`) and always ends it. Its status
    is the user's: FAILED (KILLED for Ctrl-C) when the user's own call raised
    through the hook's ``yield``, FINISHED otherwise, even if our recording code
    failed afterwards (``safe_patch`` reports that; the user's fit went fine).
    """
    run = start_fit_run(integration, name, tags)
    try:
        yield run
    except BaseException as exc:
        run.end(status_for(exc) if is_user_exception(exc) else "FINISHED")
        raise
    finally:
        run.end()


def attach_run(run_id: str, journal_path: str | os.PathLike[str]) -> Run:
    """A handle on a run that another process started, for a worker process to log into.

    For a framework that trains in worker processes on behalf of the process
    that owns the run (Lightning's ``ddp_spawn``): the parent passes
    ``run.id`` and ``run._journal.path`` to the worker. The handle is not made
    active, fires no hooks and writes no end record; call ``run.detach()``
    when done. The owner is blocked in ``fit`` meanwhile, so the journal still
    has one writer at a time.
    """
    from ._session import session

    return session.attach_run(run_id, Path(journal_path))


# -- helpers for integrations ------------------------------------------------


def scalars(metrics: Any, prefix: str = "") -> dict[str, float]:
    """The scalar values of ``metrics`` (tensors, numbers) as floats; others are skipped.

    Frameworks hand over dicts mixing loss tensors, Python numbers and the odd
    string or multi-element tensor; only what is one number is a metric.
    """
    values = {}
    for key, value in metrics.items():
        try:
            values[prefix + key] = value.item() if hasattr(value, "item") else float(value)
        except (TypeError, ValueError, RuntimeError):
            continue
    return values


def steps_option(config: Config) -> int | None:
    """The ``log_every_n_steps`` option: None (off) or a positive number of steps."""
    value = config.option("log_every_n_steps")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"log_every_n_steps must be a positive whole number of steps, got {value!r}; "
            "leave it out to log per-epoch metrics only"
        )
    return value


def unwrap(target: Any, path: str) -> None:
    """Undo ``wrapt.wrap_function_wrapper(target, path, ...)`` exactly.

    A method wrapped on a class that inherited it is deleted again rather than
    left behind as a copy of the base class's function.
    """
    import functools
    import inspect

    import wrapt

    owner_path, _, name = path.rpartition(".")
    owner = functools.reduce(getattr, owner_path.split("."), target) if owner_path else target
    wrapper = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if not isinstance(wrapper, wrapt.FunctionWrapper):
        return
    original = wrapper.__wrapped__
    delattr(owner, name)
    if inspect.getattr_static(owner, name, None) is not original:
        setattr(owner, name, original)
