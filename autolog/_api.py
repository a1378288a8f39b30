"""The public functions: ``autolog()``, runs, logging, reading back.

Module-level logging functions act on the active run (the innermost
``start_run()`` block). Reading functions go to the configured backend, or to
the one named by ``backend=``.
"""

from __future__ import annotations

import os
import sys

from . import _integrations
from ._config import resolve, settings_file_label
from ._config_checks import check_config
from ._session import session
from .errors import ConfigurationError

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds of autolog()
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from ._reader import RunList
    from ._records import MetricPoint, RunRecord
    from .run import Run


def autolog(
    backend: str | os.PathLike[str] | Sequence[str] | None = None,
    experiment: str | None = None,
    integrations: Sequence[str] | None = None,
    disable: bool = False,
    log_models: bool = True,
    silent: bool = False,
    **options: Any,
) -> None:
    """Record every fit of the installed frameworks from now on.

    ``backend``: where records go (a folder, ``http(s)://`` tracking server,
    ``wasbs://``/``azure://`` blob container, or a list to fan out); default
    from ``AUTOLOG_BACKEND``, ``[tool.autolog]`` or ``./autolog-runs``.
    ``experiment``: the experiment of new top-level runs. ``integrations``:
    names to enable (default: all). ``disable=True`` removes every patch.
    ``log_models=False`` skips saving fitted models. ``silent=True`` hides
    autolog's warnings. Other keyword ``options`` are integration settings
    (``max_tuning_runs``, ``exit_timeout``, ...) listed in the README.

    Frameworks are patched when the script imports them, so calling this
    before or after ``import sklearn`` both work; no framework is imported here.
    Setting ``AUTOLOG_DISABLE=1`` makes this call do nothing.
    """
    for name, flag in (("disable", disable), ("log_models", log_models), ("silent", silent)):
        if not isinstance(flag, bool):
            raise ConfigurationError(
                f"setting {name!r} from autolog() must be True or False, got {flag!r}"
            )
    arguments: dict[str, Any] = {
        "backend": backend,
        "experiment": experiment,
        "integrations": integrations,
        # Booleans count as given only when they differ from the default, so that
        # the environment and [tool.autolog] can still set them.
        "disable": True if disable else None,
        "log_models": False if not log_models else None,
        "silent": True if silent else None,
        **options,
    }
    if disable:
        _integrations.disable_all()
        session.configure(resolve({"disable": True}))
        return
    try:
        config = resolve(arguments, _known_options())
        check_config(config, arguments, settings_file_label())
    except ConfigurationError as exc:  # the user's mistake: no traceback from inside autolog
        raise exc.with_traceback(None) from None
    session.configure(config)
    if config.disable:
        _integrations.disable_all()
        return
    _integrations.enable(config)


def _known_options() -> dict[str, Any]:
    return _integrations.known_options()


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> Run:
    """Start a run and make it active; use as ``with autolog.start_run(...) as run:``.

    Inside an active run, the new run is its child (same experiment, tag
    ``parent_run_id``); so is every autologged fit inside it. Leaving the block
    ends the run: FINISHED, FAILED if the block raised, KILLED on Ctrl-C.
    """
    return session.start_run(name=name, experiment=experiment, tags=tags)


def end_run(status: str = "FINISHED") -> None:
    """End the active run, for code that does not use ``with``."""
    run = session.active_run()
    if run is not None:
        run.end(status)


def active_run() -> Run | None:
    """The innermost run started and not yet ended, or None."""
    return session.active_run()


def _require_active(what: str) -> Run:
    """The active run; outside one, a new run is started, as ``mlflow.log_metric`` does.

    That run stays active until ``autolog.end_run()`` or the end of the script,
    when it ends FINISHED (FAILED after an uncaught exception).
    """
    run = session.active_run()
    if run is None:
        run = session.start_run()
    return run


def log_params(params: Mapping[str, Any]) -> None:
    """Record hyperparameters in the active run; see :meth:`Run.log_params`."""
    _require_active("log_params").log_params(params)


def log_param(key: str, value: Any) -> None:
    """Record one hyperparameter in the active run."""
    _require_active("log_param").log_param(key, value)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Record one metric value in the active run; see :meth:`Run.log_metric`."""
    _require_active("log_metric").log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metric values at one step in the active run."""
    _require_active("log_metrics").log_metrics(metrics, step)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags on the active run."""
    _require_active("set_tags").set_tags(tags)


def set_tag(key: str, value: Any) -> None:
    """Set one tag on the active run."""
    _require_active("set_tag").set_tag(key, value)


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> str:
    """Copy a file or folder into the active run's artifacts; returns its artifact path."""
    from pathlib import Path

    return _require_active("log_artifact").log_artifact(Path(path), name)


def log_model(model: Any, name: str = "model") -> dict[str, Any] | None:
    """Save ``model`` as the active run's model; returns its manifest."""
    return _require_active("log_model").log_model(model, name)


def flush(timeout: float | None = None) -> bool:
    """Wait until remote backends have every record; False if ``timeout`` ran out first.

    ``timeout`` defaults to the ``exit_timeout`` setting (10 s). With only the
    local store configured there is nothing to wait for.
    """
    return session.flush(timeout)


def search_runs(
    experiment: str | None = None,
    backend: str | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
    deleted: bool = False,
) -> RunList:
    """Runs of ``experiment`` (all experiments when None) matching ``filter``.

    ``filter`` uses MLflow's syntax: ``"metrics.rmse < 1 and params.model = 'ridge'"``.
    ``order_by`` takes clauses like ``["metrics.aic ASC"]``; default newest first.
    Deleted runs (``autolog runs rm``) are left out unless ``deleted=True``.
    With ``max_results``, one page: the list's ``next_page_token`` (None on the
    last page) asks for the next one as ``page_token``. A store of journals
    answers from its index (see autolog._index), so a page costs what it holds.
    """
    return _search_backend(
        session.reader(backend), experiment, filter, order_by, max_results, page_token, deleted
    )


def _search_backend(
    backend: Any,
    experiment: str | None,
    filter: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None,
    page_token: str | None,
    deleted: bool = False,
) -> RunList:
    """``autolog.search_runs`` over any backend: a journal source pages in its index, any
    other backend's answer is sorted and cut into pages here."""
    from ._reader import RunList
    from .sources import JournalSource

    order = list(order_by) if order_by else None
    # A journal source pages in its index, also behind the local journal's fallback (a
    # replica folder, a blob container): listing 20 of 100,000 runs reads 20, not all.
    # The fallback exists only once its module is imported (for a remote backend): a local
    # read does not import it and the delivery machinery behind it (20 ms of `runs ls`).
    fallback = sys.modules.get("autolog._fallback")
    wrapped = fallback is not None and isinstance(backend, fallback.JournalFallback)
    source = backend.inner if wrapped else backend
    if isinstance(source, JournalSource):
        try:
            page = source.journal_reader.search(
                experiment, filter, order, max_results, page_token, deleted
            )
            return RunList(page.runs, page.next_page_token)
        except Exception as exc:
            if not wrapped or not fallback.unreachable(exc):  # type: ignore[union-attr]
                raise
            # Unreachable: the fallback's own search answers from the local journal, below.
    from ._filter import sort_runs
    from ._reader import decode_page_token, encode_page_token

    if max_results is not None and max_results < 1:
        raise ValueError(f"max_results must be at least 1, got {max_results}")
    runs = backend.search_runs(experiment, filter)
    if not deleted:
        runs = [run for run in runs if run.lifecycle_stage != "deleted"]
    runs = sort_runs(runs, order) if order else runs
    start = decode_page_token(page_token)
    if max_results is None:
        return RunList(runs[start:])
    stop = start + max_results
    return RunList(runs[start:stop], encode_page_token(stop) if stop < len(runs) else None)


def get_run(run_id: str, backend: str | None = None) -> RunRecord:
    """The run with this id, with its params, latest metrics, tags and artifacts."""
    return session.reader(backend).get_run(run_id)


def get_metric_history(run_id: str, key: str, backend: str | None = None) -> list[MetricPoint]:
    """Every point of metric ``key`` in the run: ``step``, ``value``, ``timestamp``."""
    return session.reader(backend).get_metric_history(run_id, key)


def load_model(run_id: str, backend: str | None = None) -> Any:
    """Load the model of ``run_id``, after checking its files against their sha256.

    ``run_id`` may also be a model URI: ``models:/NAME@ALIAS``, ``models:/NAME/3``,
    ``models:/NAME/latest`` (the registry, see :func:`autolog.register_model`),
    ``runs:/RUN_ID/model``, or ``models:/m-ID`` (an MLflow 3 logged model, on a
    tracking server). Models MLflow's client logged (sklearn, statsmodels, keras,
    pytorch flavors) load too; they have no autolog manifest to check.
    """
    from ._models import load_run_model
    from ._patch import autologging_suppressed

    with autologging_suppressed():  # a load hook's own calls are not the user's fits
        return load_run_model(session.reader(backend), run_id)
