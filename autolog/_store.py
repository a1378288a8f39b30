"""The local store: a folder of runs, each a journal with its artifacts beside it.

Layout (the same under a blob container's prefix)::

    autolog-runs/
      <run_id>/
        journal.jsonl          the run's records, see autolog._journal
        artifacts/<path>       files logged with log_artifact, and model/
        shipped/<backend>.json the offset each remote backend acknowledged

Runs are folders named by their id, so parallel processes never write the same
file, and finding a run by id is one ``stat``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from ._journal import JOURNAL_NAME, read_journal
from ._records import MetricPoint, RunRecord, RunReplay
from .errors import RunNotFoundError

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class LocalStore:
    """Reads and lays out runs under ``root``; the journal itself is written by Run."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def journal_path(self, run_id: str) -> Path:
        return self.root / run_id / JOURNAL_NAME

    def artifacts_dir(self, run_id: str) -> Path:
        return self.root / run_id / "artifacts"

    def create_run_dir(self, run_id: str) -> Path:
        path = self.run_dir(run_id)
        path.mkdir(parents=True, exist_ok=False)
        return path

    def run_ids(self) -> Iterator[str]:
        """Ids of every run folder that holds a journal."""
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return
        for entry in entries:
            if _RUN_ID.match(entry.name) and os.path.exists(os.path.join(entry.path, JOURNAL_NAME)):
                yield entry.name

    def read_run(self, run_id: str, history: str | bool = False) -> RunReplay:
        """Replay a run's journal; raises RunNotFoundError naming the store."""
        path = self.journal_path(run_id) if _RUN_ID.match(run_id or "") else None
        if path is None or not path.exists():
            raise RunNotFoundError(f"no run {run_id!r} in the local store {self.root}")
        replay = RunReplay(keep_history=history).feed(read_journal(path).records)
        if replay.run is None:
            raise RunNotFoundError(f"run {run_id!r} in {self.root} has no readable header")
        return replay

    def get_run(self, run_id: str) -> RunRecord:
        run = self.read_run(run_id).run
        assert run is not None
        return run

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self.read_run(run_id, history=key).history.get(key, [])

    def search_runs(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
    ) -> list[RunRecord]:
        """Runs of ``experiment`` (every experiment when None) matching ``filter``."""
        from ._filter import parse_filter, sort_runs

        run_filter = parse_filter(filter)
        runs = []
        for run_id in self.run_ids():
            try:
                run = self.read_run(run_id).run
            except (RunNotFoundError, OSError):
                continue
            if run is None or (experiment is not None and run.experiment != experiment):
                continue
            if run_filter.matches(run):
                runs.append(run)
        return sort_runs(runs, order_by)

    def artifact_path(self, run_id: str, path: str) -> Path:
        """Where artifact ``path`` of the run lives; refuses paths leaving the folder."""
        base = self.artifacts_dir(run_id).resolve()
        target = (base / path).resolve()
        if target != base and base not in target.parents:
            raise ValueError(f"artifact path {path!r} leaves the run's artifact folder")
        return target

    def download_artifacts(self, run_id: str, path: str, dest: Path) -> Path:
        source = self.artifact_path(run_id, path)
        if not source.exists():
            raise RunNotFoundError(f"run {run_id!r} has no artifact {path!r} in {self.root}")
        target = Path(dest) / source.name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            Path(dest).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return target

    # Acknowledged offsets of remote backends, so `autolog sync` can resume anywhere.

    def acked_offset(self, run_id: str, backend_key: str) -> int:
        try:
            data = json.loads(
                (self.run_dir(run_id) / "shipped" / f"{backend_key}.json").read_text()
            )
            return int(data["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def set_acked_offset(self, run_id: str, backend_key: str, uri: str, offset: int) -> None:
        folder = self.run_dir(run_id) / "shipped"
        folder.mkdir(exist_ok=True)
        write_atomically(folder / f"{backend_key}.json", json.dumps({"uri": uri, "offset": offset}))


def local_path(uri: str) -> Path | None:
    """The folder a path or ``file:`` URI names, or None for other schemes."""
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        return Path(unquote(parsed.path))
    if "://" in uri:
        return None
    return Path(uri).expanduser()


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old or the new, never half."""
    import tempfile  # lazily: it imports random and hashlib, slow for autolog()'s start

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
