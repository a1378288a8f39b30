"""What the web UI reads, whatever the store: the reader interface and its data types.

Two readers implement :class:`Reader`: :class:`~autolog.server.ui_reader.SqlReader`
over the tracking server's SQL store (``autolog server``), and
:class:`~autolog.ui.journal_reader.JournalReader` over journals, in a local
folder or a blob container (``autolog ui``). The JSON API in
:mod:`autolog.ui.api` only talks to this interface, so both serve the same
pages. Readers never write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._records import RunRecord, visible_tags
from ..sources import ArtifactFile
from .series import Series

__all__ = [
    "Artifact",
    "ArtifactFile",
    "BadRequest",
    "ExperimentSummary",
    "MetricSummary",
    "NotFound",
    "Reader",
    "RunDetail",
    "parse_model_tag",
    "visible_tags",
]


class NotFound(LookupError):
    """The experiment, run, metric or artifact asked for does not exist (HTTP 404)."""


class BadRequest(ValueError):
    """The request cannot be answered as asked, e.g. a filter that does not parse (HTTP 400)."""


@dataclass
class ExperimentSummary:
    """One line of the experiments page."""

    name: str
    runs: int = 0
    running: int = 0
    last_activity: int | None = None


@dataclass
class MetricSummary:
    """A metric of one run: latest value, lowest and highest (NaN ignored), number of points."""

    key: str
    latest: float
    min: float | None = None
    max: float | None = None
    count: int = 0
    last_step: int | None = None

    def include(self, value: float, step: int) -> None:
        """Account for one more point; the caller decides what ``latest`` is."""
        self.count += 1
        self.last_step = step if self.last_step is None else max(self.last_step, step)
        if math.isnan(value):
            return
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value


@dataclass
class Artifact:
    """A file of a run, by its path inside the run's artifacts."""

    path: str
    size: int | None = None


@dataclass
class RunDetail:
    """Everything the run page shows about one run."""

    record: RunRecord
    metrics: list[MetricSummary] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    parent: RunRecord | None = None
    children: list[RunRecord] = field(default_factory=list)


class Reader(Protocol):
    """The read operations behind every page of the UI."""

    #: Where the runs come from, shown in the page header (credentials stripped).
    source: str
    #: "server", "local" or "blob".
    kind: str

    def experiments(self) -> list[ExperimentSummary]:
        """Every experiment with at least one run, and the server's empty ones."""
        ...

    def runs(
        self, experiment: str, filter_text: str | None, deleted: bool = False
    ) -> tuple[list[RunRecord], int]:
        """Runs of ``experiment`` matching the filter (BadRequest if it does not parse),
        with params and latest metrics, and how many runs the experiment has in all;
        soft-deleted runs only when ``deleted``."""
        ...

    def run(self, run_id: str) -> RunDetail:
        """One run with its metric summaries, artifacts, parent and children."""
        ...

    def metric(self, run_id: str, key: str) -> tuple[Series, str]:
        """The points of metric ``key`` of the run, and the run's status (for live charts)."""
        ...

    def artifact(self, run_id: str, path: str) -> ArtifactFile:
        """One artifact file of the run; NotFound for folders and missing files."""
        ...

    # The model registry, in the JSON shape of MLflow's REST API (what ``autolog server``
    # answers to MLflow's client), so the models pages show every store the same way.

    def registered_models(self) -> list[dict[str, Any]]:
        """Every registered model (name, aliases, latest versions, timestamps);
        NotFound when the store keeps no registry."""
        ...

    def registered_model(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One registered model and its versions, newest first; NotFound if there is none."""
        ...

    def model_version(self, name: str, version: str) -> dict[str, Any]:
        """One version of a registered model; NotFound if there is none."""
        ...


def parse_model_tag(text: str | None) -> dict[str, Any] | None:
    """The model manifest the HTTP backend stores as a tag, or None."""
    import json

    if not text:
        return None
    try:
        manifest = json.loads(text)
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None
