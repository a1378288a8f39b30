"""The public registry functions: register, alias, list, show (see :mod:`autolog._registry`).

Each goes to the configured backend (the first of the ``backend`` setting, the
local store by default) or to the one named by ``backend=``, like the other
reading functions, and returns or raises at once: a version number is the
backend's to give, so nothing is left to ship later.
"""

from __future__ import annotations

from typing import Any

from ._registry import (
    ModelVersion,
    RegisteredModel,
    check_alias,
    check_name,
    check_version,
    parse_model_uri,
    parse_run_source,
    pick_version,
)
from ._session import session


def register_model(model_uri_or_run: Any, name: str, backend: str | None = None) -> int:
    """Register the model a run saved under ``name``; returns the new version number.

    ``model_uri_or_run`` is a run id (a prefix that ``autolog runs ls`` shows is
    fine), a :class:`~autolog.Run` or :class:`~autolog.RunRecord`, or
    ``runs:/RUN_ID/PATH``. The first registration creates the name with version 1;
    each later one adds the next number. On a tracking server this is
    ``mlflow.register_model``: MLflow's client sees the version, and versions
    MLflow's client registered load with ``autolog.load_model("models:/NAME/N")``.
    """
    from ._run_ids import expand_run_id

    run_id, path = parse_run_source(model_uri_or_run)
    run_id = expand_run_id(run_id, backend)
    version = session.reader(backend).register_model(check_name(name), run_id, path)
    return version.version


def set_model_alias(name: str, alias: str, version: int | str, backend: str | None = None) -> None:
    """Point ``alias`` (such as ``"champion"``) of ``name`` at ``version``.

    An alias names one version at a time: setting it again moves it. Load the
    version it points at with ``autolog.load_model("models:/NAME@ALIAS")``.
    """
    reader = session.reader(backend)
    reader.set_model_alias(check_name(name), check_alias(alias), check_version(version))


def delete_model_alias(name: str, alias: str, backend: str | None = None) -> None:
    """Remove ``alias`` from ``name``; the version it pointed at stays."""
    session.reader(backend).delete_model_alias(check_name(name), check_alias(alias))


def search_registered_models(backend: str | None = None) -> list[RegisteredModel]:
    """Every registered model, most recently updated first."""
    return session.reader(backend).search_registered_models()


def get_registered_model(name: str, backend: str | None = None) -> RegisteredModel:
    """One registered model, with every version (its run, source, aliases) oldest first."""
    return session.reader(backend).get_registered_model(check_name(name))


def get_model_version(uri: str, backend: str | None = None) -> ModelVersion:
    """The version a ``models:/NAME/N``, ``models:/NAME@ALIAS`` or ``models:/NAME/latest``
    URI names."""
    ref = parse_model_uri(uri)
    return pick_version(get_registered_model(ref.name, backend), ref)
