"""The model registry: names for models, numbered versions, and aliases that move.

``autolog.register_model(run, "churn")`` gives the model a run saved a name and a
version number (1, 2, ...); ``autolog.set_model_alias("churn", "champion", 2)``
points an alias at a version; ``autolog.load_model("models:/churn@champion")``
or ``"models:/churn/2"`` loads it. The same calls work on every backend that has
a registry, each in its own way:

* the local store keeps one registry journal in the store folder
  (:mod:`autolog._local_registry`), checksummed and appended like a run's;
* ``autolog server`` and any MLflow server get MLflow's ``registered-models``
  and ``model-versions`` REST calls (``backends/_mlflow_registry.py``), so a
  version autolog registered is one MLflow's client sees, and the other way round.

A version keeps the sha256 of the model's manifest when autolog saved the model,
so a model loaded by name is checked like one loaded by run.
"""

from __future__ import annotations

import re
from typing import Any

from ._plain import Fields, Frozen, field
from .errors import AutologError

#: MLflow's rule for aliases: letters, digits, ``_`` and ``-``; not ``latest``, not ``v3``.
_ALIAS = re.compile(r"^[\w\-]{1,255}$")
_VERSION_LIKE = re.compile(r"^v\d+$", re.IGNORECASE)
_NAME_FORBIDDEN = re.compile(r"[/@:\x00-\x1f\x7f]")
MAX_NAME = 256
#: The model version tag that carries the manifest's sha256 on a tracking server.
MANIFEST_TAG = "autolog.manifest_sha256"


class ModelVersion(Fields):
    """One registered version: where its files are and which run produced them.

    ``manifest_sha256`` is the sha256 of autolog's manifest.json when autolog saved the
    model (None otherwise); ``path`` is the artifact path inside the run (local store) or
    the server's model id. A plain class, not a dataclass: see :mod:`autolog._plain`.
    """

    name: str
    version: int
    run_id: str | None
    source: str
    created: int
    aliases: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None
    path: str = "model"
    model_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "aliases": sorted(self.aliases),
            "run_id": self.run_id,
            "source": self.source,
            "created": self.created,
            "manifest_sha256": self.manifest_sha256,
        }


class RegisteredModel(Fields):
    """A name and its versions, newest last; ``aliases`` maps each alias to its version."""

    name: str
    created: int
    updated: int
    versions: list[ModelVersion] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)
    description: str = ""

    @property
    def latest(self) -> int | None:
        return max((v.version for v in self.versions), default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latest_version": self.latest,
            "aliases": dict(sorted(self.aliases.items())),
            "created": self.created,
            "updated": self.updated,
            "description": self.description,
            "versions": [v.as_dict() for v in self.versions],
        }


class ModelRef(Frozen):
    """What a ``models:/`` URI names: a version number, an alias, ``latest``, or a model id."""

    name: str
    version: int | None
    alias: str | None
    model_id: str | None

    def __init__(
        self,
        name: str,
        version: int | None = None,
        alias: str | None = None,
        model_id: str | None = None,
    ) -> None:
        self._set(name=name, version=version, alias=alias, model_id=model_id)

    @property
    def uri(self) -> str:
        if self.model_id:
            return f"models:/{self.model_id}"
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}/{self.version if self.version else 'latest'}"


def check_name(name: Any) -> str:
    """A registered model name, or a one-line error saying what is wrong with it."""
    if not isinstance(name, str) or not name.strip():
        raise AutologError(f"model name {name!r} is empty; give a name such as 'churn'")
    if len(name) > MAX_NAME or _NAME_FORBIDDEN.search(name):
        raise AutologError(
            f"model name {name!r} is not usable in models:/ URIs: use at most {MAX_NAME} "
            "characters and no '/', '@', ':' or control characters"
        )
    return name


def check_alias(alias: Any) -> str:
    """An alias as MLflow accepts it, or a one-line error."""
    if (
        not isinstance(alias, str)
        or not _ALIAS.match(alias)
        or alias.lower() == "latest"
        or _VERSION_LIKE.match(alias)
    ):
        raise AutologError(
            f"alias {alias!r} is not valid: use letters, digits, '_' and '-' (such as "
            "'champion'), not 'latest' and not a version like 'v2'"
        )
    return alias


def check_version(version: Any) -> int:
    """A version number (1, 2, ... or their text), or a one-line error."""
    try:
        number = int(str(version).strip())
    except (TypeError, ValueError):
        number = 0
    if number <= 0 or isinstance(version, bool):
        raise AutologError(f"model version {version!r} is not a version number (1, 2, ...)")
    return number


def parse_model_uri(uri: str) -> ModelRef:
    """``models:/NAME/3``, ``models:/NAME/latest``, ``models:/NAME@ALIAS`` or ``models:/m-ID``."""
    rest = uri.removeprefix("models:").lstrip("/").rstrip("/")
    if rest.startswith("m-") and "/" not in rest and "@" not in rest:
        return ModelRef(name="", model_id=rest)
    if "@" in rest:
        name, alias = rest.rsplit("@", 1)
        return ModelRef(check_name(name), alias=check_alias(alias))
    name, _, number = rest.rpartition("/")
    if not name or not number:
        raise AutologError(
            f"{uri!r} names no version: use models:/NAME/3, models:/NAME/latest or "
            "models:/NAME@ALIAS"
        )
    if number == "latest":
        return ModelRef(check_name(name))
    return ModelRef(check_name(name), version=check_version(number))


def parse_run_source(source: Any) -> tuple[str, str | None]:
    """``(run id, artifact path or None)`` of a run id, ``runs:/ID/path``, or a run object."""
    run_id = getattr(source, "id", source)  # a Run or a RunRecord
    if not isinstance(run_id, str) or not run_id.strip():
        raise AutologError(
            f"register_model takes a run id, a run or a runs:/RUN_ID/model URI, got {source!r}"
        )
    if run_id.startswith("runs:/"):
        found, _, path = run_id.removeprefix("runs:/").strip("/").partition("/")
        if not found:
            raise AutologError(f"{run_id!r} names no run: use runs:/RUN_ID/model")
        return found, path or None
    if run_id.startswith("models:/"):
        raise AutologError(
            f"{run_id!r} is already registered; register the run it came from "
            "(runs:/RUN_ID/model) or set an alias with set_model_alias"
        )
    return run_id.strip(), None


def pick_version(model: RegisteredModel, ref: ModelRef) -> ModelVersion:
    """The version of ``model`` that ``ref`` names; a clear error when there is none."""
    number = ref.version
    if ref.alias is not None:
        number = model.aliases.get(ref.alias)
        if number is None:
            known = ", ".join(sorted(model.aliases)) or "none"
            raise AutologError(
                f"registered model {model.name!r} has no alias {ref.alias!r} (aliases: {known}); "
                f"set it with autolog.set_model_alias({model.name!r}, {ref.alias!r}, VERSION)"
            )
    if number is None:
        number = model.latest
        if number is None:
            raise AutologError(f"registered model {model.name!r} has no versions")
    for version in model.versions:
        if version.version == number:
            return version
    raise AutologError(f"registered model {model.name!r} has no version {number}")
