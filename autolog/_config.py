"""Configuration: arguments > ``AUTOLOG_*`` environment > ``[tool.autolog]`` > defaults.

The file layer is the ``[tool.autolog]`` table of the nearest ``pyproject.toml``
(or the top level of an ``autolog.toml``), searched from the working directory
upwards, so a project's settings apply wherever its scripts are started from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ._plain import Frozen
from .errors import ConfigurationError

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds of autolog()
if TYPE_CHECKING:
    from typing import Any

DEFAULT_DIR = "./autolog-runs"
DEFAULT_EXPERIMENT = "Default"


class Config(Frozen):
    """The resolved settings of one ``autolog()`` call; see the README's table.

    Immutable, compared by value (what a frozen dataclass was; see autolog._plain).
    """

    backend: tuple[str, ...]
    experiment: str
    dir: str
    integrations: tuple[str, ...] | None
    disable: bool
    log_models: bool
    silent: bool
    exit_timeout: float
    strict: bool
    system_metrics: bool
    system_metrics_interval: float
    redact_keys: tuple[str, ...]
    keep_keys: tuple[str, ...]
    options: Mapping[str, Any]

    def __init__(
        self,
        backend: tuple[str, ...] = (),
        experiment: str = DEFAULT_EXPERIMENT,
        dir: str = DEFAULT_DIR,
        integrations: tuple[str, ...] | None = None,
        disable: bool = False,
        log_models: bool = True,
        silent: bool = False,
        exit_timeout: float = 10.0,
        strict: bool = False,
        system_metrics: bool = True,
        system_metrics_interval: float = 10.0,
        redact_keys: tuple[str, ...] = (),
        keep_keys: tuple[str, ...] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        settings = dict(locals())  # the parameters above, by name, as the fields
        del settings["self"]
        settings["options"] = {} if options is None else options
        self._set(**settings)

    @property
    def backends(self) -> tuple[str, ...]:
        """Backend URIs, the local store (``dir``) when none was configured."""
        return self.backend or (self.dir,)

    def option(self, name: str, default: Any = None) -> Any:
        """An integration-specific option given to ``autolog(**options)``."""
        return self.options.get(name, default)


def is_plain_folder(uri: str) -> bool:
    """A backend URI that is a folder path: no scheme (``file:`` included) for a plugin to claim."""
    return "://" not in uri and not uri.startswith("file:")


#: Settings read from the environment, by field name, and how to parse them.
ENVIRONMENT = {
    "backend": "AUTOLOG_BACKEND",
    "experiment": "AUTOLOG_EXPERIMENT",
    "dir": "AUTOLOG_DIR",
    "integrations": "AUTOLOG_INTEGRATIONS",
    "disable": "AUTOLOG_DISABLE",
    "log_models": "AUTOLOG_LOG_MODELS",
    "silent": "AUTOLOG_SILENT",
    "exit_timeout": "AUTOLOG_EXIT_TIMEOUT",
    "strict": "AUTOLOG_STRICT",
    "system_metrics": "AUTOLOG_SYSTEM_METRICS",
    "system_metrics_interval": "AUTOLOG_SYSTEM_METRICS_INTERVAL",
    "redact_keys": "AUTOLOG_REDACT_KEYS",
    "keep_keys": "AUTOLOG_KEEP_KEYS",
}
_FIELDS = set(Config.__annotations__) - {"options"}


def resolve(arguments: Mapping[str, Any], known_options: Mapping[str, Any] | None = None) -> Config:
    """Merge the layers into a Config; unknown names raise ConfigurationError.

    ``arguments`` holds only what the caller actually passed (None means "not
    given"). ``known_options`` maps integration option names to their defaults.
    """
    file_values, file_path = _file_layer()
    merged: dict[str, Any] = {}
    options: dict[str, Any] = dict(known_options or {})
    for source, values in (
        (file_label(file_path) or "", file_values),
        ("the environment", _environment_layer()),
        ("autolog()", arguments),
    ):
        for name, value in values.items():
            if name in _FIELDS:
                if value is None:  # not given; integration options may be None on purpose
                    continue
                merged[name] = _convert(name, value, source)
            elif name in options:
                options[name] = value
            else:
                valid = ", ".join(sorted(_FIELDS | set(options)))
                raise ConfigurationError(
                    f"unknown autolog setting {name!r} from {source}; valid settings: {valid}"
                )
    if "backend" not in merged and os.environ.get("MLFLOW_TRACKING_URI"):
        merged["backend"] = _convert("backend", os.environ["MLFLOW_TRACKING_URI"], "environment")
    if "dir" not in merged and merged.get("backend"):
        # backend="/data/runs" means "keep my runs there", not "replicate them there".
        from ._store import local_path

        first_local = local_path(merged["backend"][0])
        if first_local is not None:
            merged["dir"] = os.fspath(first_local)
    return Config(**merged, options=options)


def _environment_layer() -> dict[str, Any]:
    return {name: os.environ[var] for name, var in ENVIRONMENT.items() if os.environ.get(var)}


def file_label(path: str | None) -> str | None:
    """How errors name the settings file: the autolog.toml itself, or pyproject's table."""
    if path is None:
        return None
    return path if os.path.basename(path) == "autolog.toml" else f"[tool.autolog] in {path}"


def settings_file_label() -> str | None:
    return file_label(_file_layer()[1])


def _file_layer() -> tuple[dict[str, Any], str | None]:
    folder = os.getcwd()
    while True:
        for name in ("autolog.toml", "pyproject.toml"):
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                continue
            if name == "autolog.toml":
                return _load_toml(path), path
            if not _mentions_autolog(path):
                continue  # most projects' pyproject.toml: not worth parsing
            table = _load_toml(path).get("tool", {}).get("autolog")
            if table is not None:
                return dict(table), path
        parent = os.path.dirname(folder)
        if parent == folder:
            return {}, None
        folder = parent


def _mentions_autolog(path: str) -> bool:
    """Could this pyproject.toml hold a ``tool.autolog`` table? (If it cannot be read, say yes.)

    A table, dotted keys and inline tables all spell the word; parsing TOML
    costs the import of tomllib, milliseconds that most projects need not pay.
    """
    try:
        with open(path, "rb") as f:
            return b"autolog" in f.read()
    except OSError:
        return True  # _load_toml reports it


def _load_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read autolog settings from {path}: {exc}") from exc


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(name: str, value: Any, source: str) -> Any:
    if name in ("backend", "integrations", "redact_keys", "keep_keys"):
        return _as_tuple(name, value, source)
    if name in ("disable", "log_models", "silent", "strict", "system_metrics"):
        if isinstance(value, bool):
            return value
        if source != "the environment":  # a file or an argument has real booleans
            raise ConfigurationError(
                f"setting {name!r} from {source} must be true or false (a boolean, not "
                f"text), got {value!r}"
            )
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ConfigurationError(
            f"setting {name!r} from {source} must be true or false, got {value!r}"
        )
    if name == "exit_timeout":
        try:
            timeout = float(value)
        except (TypeError, ValueError):
            timeout = -1.0
        if not timeout >= 0:
            raise ConfigurationError(
                f"setting 'exit_timeout' from {source} must be a number of seconds >= 0, "
                f"got {value!r}"
            )
        return timeout
    if name == "system_metrics_interval":
        return _positive_seconds(name, value, source)
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ConfigurationError(
            f"setting {name!r} from {source} must be a non-empty string, got {value!r}"
        )
    return os.fspath(value) if name == "dir" else str(value).strip()


def _positive_seconds(name: str, value: Any, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if isinstance(value, bool) or not 0 < seconds < float("inf"):
        raise ConfigurationError(
            f"setting {name!r} from {source} must be a number of seconds > 0, got {value!r}"
        )
    return seconds


def _as_tuple(name: str, value: Any, source: str) -> tuple[str, ...]:
    if isinstance(value, (str, os.PathLike)):
        items = os.fspath(value).split(",")
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        raise ConfigurationError(
            f"setting {name!r} from {source} must be a string or a list of strings, got {value!r}"
        )
    cleaned = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)) or not os.fspath(item).strip():
            raise ConfigurationError(
                f"setting {name!r} from {source} has an empty or non-string entry {item!r}"
            )
        cleaned.append(os.fspath(item).strip())
    return tuple(cleaned)
