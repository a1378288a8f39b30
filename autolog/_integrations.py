"""The integration registry: which integrations exist, and patching them when their framework loads.

An integration is registered by a plugin (``autolog_register_integrations``),
waits until the user imports its ``module``, checks the installed version
against ``supported_versions``, and only then patches. ``autolog(disable=True)``
unpatches every one of them. Private: plugins use :mod:`autolog.integration`.

The built-in integrations are declared here by name, framework module and
options (:data:`BUILT_IN`), so that ``autolog()`` arranges their patching
without importing them, nor pluggy: an integration's code, and the plugin
machinery, load when its framework is imported. Only when a third-party
plugin is installed (or plugins are already loaded) does ``autolog()`` ask the
plugins' hook for more. ``tests/test_plugins.py`` checks that each declaration
says what its class says.
"""

from __future__ import annotations

import importlib

from . import _imports
from .errors import ConfigurationError

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds of autolog()
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType
    from typing import Any

    from ._config import Config
    from .integration import Integration


class Declared:
    """An integration known by its name, framework module and options, its class loaded on use."""

    def __init__(
        self,
        name: str,
        module: str,
        options: Mapping[str, Any],
        where: str | None = None,
        cls: type[Integration] | None = None,
    ) -> None:
        self.name, self.module, self.options = name, module, options
        self._where, self._cls = where, cls  # "package.module:Class", or the class itself

    @classmethod
    def of(cls, integration: type[Integration]) -> Declared:
        """The declaration of a class a plugin registered."""
        return cls(integration.name, integration.module, integration.options, cls=integration)

    def load(self) -> type[Integration]:
        """The integration's class, importing its module the first time."""
        if self._cls is None:
            assert self._where is not None
            module, _, attribute = self._where.partition(":")
            self._cls = getattr(importlib.import_module(module), attribute)
        return self._cls

    def check_options(self, config: Config) -> None:
        """The class's ``check_options``, when one of its options was given.

        A default is valid by definition, so an integration the user did not
        configure is not imported to check it: ``resolve()`` leaves each
        default in ``config.options`` as the very object declared here.
        """
        if any(
            config.options.get(key, default) is not default for key, default in self.options.items()
        ):
            self.load().check_options(config)


#: The built-in integrations: name, the import that triggers patching, options, and the class.
BUILT_IN = (
    Declared(
        "sklearn",
        "sklearn",
        {"max_tuning_runs": 5, "log_training_metrics": True},
        "autolog.integrations.sklearn:SklearnIntegration",
    ),
    Declared(
        "statsmodels",
        "statsmodels.base.model",
        {},
        "autolog.integrations.statsmodels:StatsmodelsIntegration",
    ),
    Declared(
        "lightning",
        "lightning.pytorch",
        {"log_every_n_steps": None},
        "autolog.integrations.lightning:LightningIntegration",
    ),
    Declared(
        "pytorch_lightning",
        "pytorch_lightning",
        {"log_every_n_steps": None},
        "autolog.integrations.lightning:PytorchLightningIntegration",
    ),
    Declared(
        "keras", "keras", {"log_every_n_steps": None}, "autolog.integrations.keras:KerasIntegration"
    ),
)

_patched: dict[str, Integration] = {}
_waiting: dict[str, tuple[str, Callable[[ModuleType], None]]] = {}
_versions: dict[str, str] = {}


def registered() -> dict[str, Declared]:
    """Every integration: the built-in ones, and those plugins register, by name."""
    declared = {integration.name: integration for integration in BUILT_IN}
    from ._entry_points import plugins_beyond_built_in

    if plugins_beyond_built_in():
        from .plugins import call_each

        def register(cls: type[Integration]) -> None:
            declared[cls.name] = Declared.of(cls)

        call_each("autolog_register_integrations", register=register)
    return declared


def known_options() -> dict[str, Any]:
    """Defaults of every integration-specific option, for validating ``autolog(**options)``."""
    options: dict[str, Any] = {}
    for integration in registered().values():
        options.update(integration.options)
    return options


def enable(config: Config) -> list[str]:
    """Arrange for the selected integrations to patch when their framework is imported."""
    disable_all()
    declared = registered()
    names = list(config.integrations) if config.integrations is not None else list(declared)
    unknown = [name for name in names if name not in declared]
    if unknown:
        raise ConfigurationError(
            f"unknown integration(s) {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(sorted(declared))}"
        )
    for name in names:
        declared[name].check_options(config)
    for name in names:
        integration = declared[name]
        callback = _patch_when_imported(integration, config)
        _waiting[name] = (integration.module, callback)
        _imports.when_imported(integration.module, callback)
    return names


def _patch_when_imported(declared: Declared, config: Config) -> Callable[[ModuleType], None]:
    def on_import(module: ModuleType) -> None:
        _waiting.pop(declared.name, None)
        try:
            cls = declared.load()
        except Exception as exc:
            from ._patch import report_failure

            report_failure(f"the {declared.name} integration (importing it)", exc)
            return
        if not _version_supported(cls, config):
            return
        integration = cls()
        integration.config = config
        try:
            integration.patch(config)
        except Exception as exc:
            import contextlib  # here: contextlib costs milliseconds of autolog()

            with contextlib.suppress(Exception):  # undo half a patch as far as it goes
                integration.unpatch()
            from ._patch import report_failure

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
    from ._warnings import warn

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
            from ._patch import report_failure

            report_failure(f"the {name} integration (unpatching)", exc)
        _patched.pop(name, None)


def active_versions() -> dict[str, str]:
    """Versions of the frameworks currently patched, for the provenance tags."""
    return dict(_versions)
