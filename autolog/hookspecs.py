"""The hooks a plugin can implement. Every hook name starts with ``autolog_``.

A plugin is a module or object with functions decorated ``@autolog.hookimpl``,
registered through the ``autolog`` entry-point group (see
docs/writing-integrations.md). Built-in integrations and backends are plugins
registered exactly the same way.
"""

from __future__ import annotations

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("autolog")
hookimpl = HookimplMarker("autolog")


@hookspec
def autolog_register_integrations(register):
    """Register integration classes by calling ``register(IntegrationClass)``.

    The class has ``name``, ``module`` (the import that triggers patching),
    ``supported_versions`` (a requirement string such as ``"scikit-learn>=1.3"``),
    ``patch(config)`` and ``unpatch()``; see :class:`autolog.Integration`. Nothing
    is patched until the user imports ``module``, so registering costs nothing.
    """


@hookspec(firstresult=True)
def autolog_backend(uri, config):
    """Return a :class:`autolog.Backend` for ``uri`` if this plugin owns its scheme, else None."""


@hookspec(firstresult=True)
def autolog_save_model(model, path, config):
    """Save ``model`` into the empty folder ``path`` if this plugin knows its type.

    Return a dict for the model manifest with at least ``flavor`` (the name
    ``autolog_load_model`` recognises) and ideally ``framework_version``; return
    None to let another plugin try. The core adds every file's sha256.
    """


@hookspec(firstresult=True)
def autolog_load_model(path, manifest):
    """Load the model saved in folder ``path`` if ``manifest["flavor"]`` is this plugin's.

    The core has verified every file's sha256 before calling. Return None for
    flavors this plugin does not own.
    """


@hookspec
def autolog_run_started(run):
    """Called when any run starts, before user code logs to it: add tags or artifacts."""


@hookspec
def autolog_run_ended(run, status):
    """Called when a run ends with ``status`` (FINISHED, FAILED or KILLED), before it closes."""
