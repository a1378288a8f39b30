"""Integrations: the base class a framework integration subclasses, and their lifecycle.

An integration is registered by a plugin (``autolog_register_integrations``),
waits until the user imports its ``module``, checks the installed version
against ``supported_versions``, and only then patches. ``autolog(disable=True)``
unpatches every one of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar

from . import _imports
from ._config import Config
from ._patch import autologging_suppressed, guarded, in_autologged_call, report_failure, safe_patch
from ._validation import is_metric_value
from ._warnings import warn
from .errors import ConfigurationError
from .run import Run, status_for

__all__ = [
    "Integration",
    "autologging_suppressed",
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


_patched: dict[str, Integration] = {}
_waiting: dict[str, tuple[str, Callable[[ModuleType], None]]] = {}
_versions: dict[str, str] = {}


def registered() -> dict[str, type[Integration]]:
    """Every integration class that plugins register, by name."""
    from .plugins import call_each

    classes: dict[str, type[Integration]] = {}

    def register(cls: type[Integration]) -> None:
        classes[cls.name] = cls

    call_each("autolog_register_integrations", register=register)
    return classes


def known_options() -> dict[str, Any]:
    """Defaults of every integration-specific option, for validating ``autolog(**options)``."""
    options: dict[str, Any] = {}
    for cls in registered().values():
        options.update(cls.options)
    return options


def enable(config: Config) -> list[str]:
    """Arrange for the selected integrations to patch when their framework is imported."""
    disable_all()
    classes = registered()
    names = list(config.integrations) if config.integrations is not None else list(classes)
    unknown = [name for name in names if name not in classes]
    if unknown:
        raise ConfigurationError(
            f"unknown integration(s) {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(sorted(classes))}"
        )
    for name in names:
        classes[name].check_options(config)
    for name in names:
        cls = classes[name]
        callback = _patch_when_imported(cls, config)
        _waiting[name] = (cls.module, callback)
        _imports.when_imported(cls.module, callback)
    return names


def _patch_when_imported(cls: type[Integration], config: Config) -> Callable[[ModuleType], None]:
    def on_import(module: ModuleType) -> None:
        _waiting.pop(cls.name, None)
        if not _version_supported(cls, config):
            return
        integration = cls()
        integration.config = config
        try:
            integration.patch(config)
        except Exception as exc:
            with contextlib.suppress(Exception):
                integration.unpatch()
            report_failure(f"the {cls.name} integration (patching)", exc)
            return
        _patched[cls.name] = integration
        version = cls.installed_version()
        if version:
            _versions[cls.distribution()] = version

    return on_import


def _version_supported(cls: type[Integration], config: Config) -> bool:
    from packaging.requirements import Requirement

    requirement = Requirement(cls.supported_versions)
    version = cls.installed_version()
    if version is None or requirement.specifier.contains(version, prereleases=True):
        return True
    message = (
        f"autolog: {requirement.name} {version} is outside the supported range "
        f"{requirement.specifier} of the {cls.name} integration"
    )
    if config.strict:
        raise ConfigurationError(message + "; upgrade it, or turn strict mode off")
    warn(message + "; its fits are not recorded")
    return False


def disable_all() -> None:
    """Remove every patch and stop waiting for imports."""
    for module_name, callback in _waiting.values():
        _imports.forget(module_name, callback)
    _waiting.clear()
    _versions.clear()
    for name, integration in list(_patched.items()):
        try:
            integration.unpatch()
        except Exception as exc:
            report_failure(f"the {name} integration (unpatching)", exc)
        _patched.pop(name, None)


def active_versions() -> dict[str, str]:
    """Versions of the frameworks currently patched, for the provenance tags."""
    return dict(_versions)


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
