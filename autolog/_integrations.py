"""The integration registry: which integrations exist, and patching them when their framework loads.

An integration is registered by a plugin (``autolog_register_integrations``),
waits until the user imports its ``module``, checks the installed version
against ``supported_versions``, and only then patches. ``autolog(disable=True)``
unpatches every one of them. Private: plugins use :mod:`autolog.integration`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

from . import _imports
from ._config import Config
from ._patch import report_failure
from .errors import AutologWarning, ConfigurationError
from .integration import Integration

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
    warnings.warn(message + "; its fits are not recorded", AutologWarning, stacklevel=3)
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
