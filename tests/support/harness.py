"""What the reliability scenarios share: running scripts, reading journals and servers, counting.

The counts every scenario reports (see conftest.py's summary):

* a *point* is one metric value: ``(run, key, step, timestamp, value)``, with our
  run id, NaN compared as equal to NaN;
* *sent*: the distinct points the training logged, as its own journal holds
  them (the journal is the source of truth, everything in it must reach every
  backend), or the points a client confirmed or sent itself;
* *found*: the distinct sent points read back from the backend under test;
* *lost*: sent points not found;
* *duplicated*: points read back more often than they were sent, counted per
  ``(run, key, step, timestamp)``, plus every extra server run carrying one of
  our run ids (a run created twice).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autolog._journal import read_journal
from tests.support.processes import run_autolog_cli
from tests.support.restapi import Api

Point = tuple[str, str, int, int, Any]
RUN_ID_TAG = "autolog.run_id"


def point(run_id: str, key: str, step: int, timestamp: int, value: Any) -> Point:
    """A point as a hashable tuple; NaN becomes the text "NaN" so that it equals itself."""
    number = float(value)
    return (run_id, key, int(step), int(timestamp), "NaN" if math.isnan(number) else number)


def env(**overrides: str) -> dict[str, str]:
    """This process's environment without AUTOLOG_* settings, plus ``overrides``."""
    # AUTOLOG_PLUGINS stays: it is how the test-only faulty:// backend reaches children.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUTOLOG_") or k == "AUTOLOG_PLUGINS"
    }
    base.update({"OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch"})
    return {**base, **overrides}


def shell_env(**overrides: str) -> dict[str, str]:
    """A new shell's environment: no AUTOLOG_* or MLFLOW_* variable at all, plus ``overrides``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOLOG_", "MLFLOW_"))}
    return {**base, **overrides}


def run_python(
    script: Path, *args: str, cwd: Path, environ: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``script`` to its end in a fresh interpreter (``-P``); the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-P", str(script), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_script(folder: Path, name: str, code: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(code))
    return path


def start_python(
    script: Path, *args: str, cwd: Path, environ: dict[str, str], **popen: Any
) -> subprocess.Popen:
    """Start ``script`` in a fresh interpreter (``-P``), output captured as text."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-P", str(script), *args], cwd=cwd, env=environ, text=True, **popen
    )


def autolog_cli(*args: str, cwd: Path, environ: dict[str, str] | None = None):
    """``autolog ARGS`` as a user runs it, in :func:`env` unless ``environ``."""
    return run_autolog_cli(*args, cwd=cwd, environ=environ or env())


# -- the local store ---------------------------------------------------------------


@dataclass
class JournalRun:
    """One run as its journal holds it (complete records only)."""

    run_id: str
    header: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    status: str = "RUNNING"
    points: list[Point] = field(default_factory=list)
    artifacts: dict[str, int] = field(default_factory=dict)
    records: list[list] = field(default_factory=list)
    torn_tail: bool = False
    damaged: int = 0
    size: int = 0


def read_store(store: Path) -> dict[str, JournalRun]:
    """Every run of a local store, read straight from its journal file."""
    runs = {}
    for journal in sorted(store.glob("*/journal.jsonl")):
        run_id = journal.parent.name
        read = read_journal(journal, warn=False)
        run = JournalRun(run_id, torn_tail=read.torn_tail, damaged=len(read.damaged_lines))
        run.size = read.end
        run.records = read.records
        for record in read.records:
            kind = record[0]
            if kind == "run":
                run.header = record[1]
            elif kind == "params":
                run.params.update(record[1])
            elif kind == "tags":
                run.tags.update(record[1])
            elif kind == "m":
                _, key, value, step, timestamp = record
                run.points.append(point(run_id, key, step, timestamp, value))
            elif kind == "artifact":
                run.artifacts[record[1]["path"]] = record[1]["size"]
            elif kind == "end":
                run.status = record[1]["status"]
        runs[run_id] = run
    return runs


def store_points(runs: Iterable[JournalRun]) -> list[Point]:
    return [p for run in runs for p in run.points]


# -- a tracking server -------------------------------------------------------------


def server_copies(api: Api) -> dict[str, list[dict]]:
    """Every server run (deleted ones too) by the run id of ours it carries as a tag."""
    experiments = api.ok(api.post("experiments/search", {"view_type": "ALL"}))["experiments"]
    body: dict[str, Any] = {
        "experiment_ids": [e["experiment_id"] for e in experiments],
        "run_view_type": "ALL",
        "max_results": 1000,
    }
    copies: dict[str, list[dict]] = {}
    while True:
        page = api.ok(api.post("runs/search", body))
        for run in page.get("runs", []):
            tags = {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
            if RUN_ID_TAG in tags:
                copies.setdefault(tags[RUN_ID_TAG], []).append(run)
        if not page.get("next_page_token"):
            return copies
        body["page_token"] = page["next_page_token"]


def server_run_points(api: Api, run_id: str, server_run: dict) -> list[Point]:
    """Every point the server holds for one copy of our run, all keys, all pages."""
    server_id = server_run["info"]["run_id"]
    keys = {m["key"] for m in server_run.get("data", {}).get("metrics", [])}
    return [
        point(run_id, key, m["step"], m["timestamp"], m["value"])
        for key in sorted(keys)
        for m in api.history(server_id, key)
    ]


def server_artifacts(api: Api, server_run: dict) -> dict[str, int]:
    """Artifact files of a server run: path under the run's root -> size."""
    root = server_run["info"]["artifact_uri"].removeprefix("mlflow-artifacts:").strip("/")
    found: dict[str, int] = {}
    pending = [""]
    while pending:
        folder = pending.pop()
        path = f"{root}/{folder}".rstrip("/")
        listing = api.http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
        for entry in api.ok(listing).get("files", []):
            relative = f"{folder}/{entry['path'].rsplit('/', 1)[-1]}".strip("/")
            if entry.get("is_dir"):
                pending.append(relative)
            else:
                found[relative] = int(entry.get("file_size", -1))
    return found


@dataclass
class ServerRead:
    """What a server holds for a set of our runs."""

    points: list[Point] = field(default_factory=list)
    copies: dict[str, int] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)

    @property
    def extra_copies(self) -> int:
        return sum(max(0, n - 1) for n in self.copies.values())


def read_server(api: Api, run_ids: Iterable[str]) -> ServerRead:
    """The points and run copies the server holds for each of our ``run_ids``."""
    read = ServerRead()
    everything = server_copies(api)
    for run_id in run_ids:
        copies = everything.get(run_id, [])
        read.copies[run_id] = len(copies)
        for copy in copies:
            read.runs[run_id] = copy
            read.points += server_run_points(api, run_id, copy)
    return read


# -- counting ------------------------------------------------------------------------


@dataclass
class Counts:
    sent: int
    found: int
    lost: int
    duplicated: int
    missing: list[Point]

    def row(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "found": self.found,
            "lost": self.lost,
            "duplicated": self.duplicated,
        }


def count(sent: Iterable[Point], found: Iterable[Point], extra_copies: int = 0) -> Counts:
    """Compare what was sent with what was read back; see the module docstring."""
    sent_list, found_list = list(sent), list(found)
    sent_set, found_set = set(sent_list), set(found_list)
    per_sent = Counter(p[:4] for p in sent_set)
    per_found = Counter(p[:4] for p in found_list)
    duplicated = sum(max(0, n - per_sent.get(k, 0)) for k, n in per_found.items() if n > 1)
    missing = sorted(sent_set - found_set, key=repr)
    return Counts(
        sent=len(sent_set),
        found=len(sent_set & found_set),
        lost=len(missing),
        duplicated=duplicated + extra_copies,
        missing=missing[:10],
    )
