"""A run being recorded: the object integrations and users log to.

Every call validates its input (see :mod:`autolog._validation`) and appends
one record to the run's journal, synchronously, in a few microseconds. Nothing
here touches the network: remote backends are fed from the journal by the
shipper, on another thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from . import _validation as v
from ._records import FAILED, FINISHED, KILLED, RUNNING, STATUSES, header_of
from ._store import sha256_file
from .errors import InvalidInputError

if TYPE_CHECKING:
    from ._config import Config
    from ._journal import Journal, NullJournal


def now_ms() -> int:
    """Milliseconds since the epoch, the timestamp unit of every record."""
    return time.time_ns() // 1_000_000


#: How far ahead of the clock :func:`start_stamp` may run in a burst of starts.
MOST_STAMP_LEAD_MS = 1000

_stamp_lock = threading.Lock()
_last_stamp = 0


def start_stamp() -> int:
    """A run's start time: the clock in milliseconds, and later than the previous start.

    Runs are listed in the order they started, ties broken by id, which is random.
    A grid search's child runs (and any sweep of runs shorter than a millisecond)
    would share one millisecond and be listed shuffled. So within one process each
    start is stamped at least a millisecond after the previous one, up to
    ``MOST_STAMP_LEAD_MS`` ahead of the clock. At that lead (more than a thousand
    starts a second for a second) starts share the last stamp until the clock catches
    up: ties come back, but a later start is never stamped before an earlier one.
    """
    global _last_stamp
    now = now_ms()
    with _stamp_lock:
        if _last_stamp < now:
            _last_stamp = now
        elif _last_stamp < now + MOST_STAMP_LEAD_MS:
            _last_stamp += 1
        return _last_stamp


def _new_stamp_lock_after_fork() -> None:
    """A child forked while another thread held the lock would never see it released."""
    global _stamp_lock
    _stamp_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_stamp_lock_after_fork)


def status_for(exc: BaseException | None) -> str:
    """The status a run ends with when ``exc`` interrupted it."""
    if exc is None:
        return FINISHED
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return KILLED
    return FAILED


class RunOwner(Protocol):
    """Whoever keeps track of open runs (the session): told when one of them ends."""

    def run_ending(self, run: Run, status: str) -> None:
        """Before the end record: end the runs opened inside ``run``, let plugins log last."""

    def run_ended(self, run: Run) -> None:
        """After the end record is written and the journal closed (wake the shippers)."""


class Run:
    """One run: params, metrics, tags, artifacts and a model, until :meth:`end`.

    Use it as a context manager (``with autolog.start_run() as run:``); a block
    that raises ends the run FAILED (KILLED for KeyboardInterrupt) and re-raises.

    A run writes all of its own records, from the header (:meth:`start`) to the
    end record (:meth:`end`), into its journal. It knows nothing of the session:
    it is given the configuration (for saving models) and an ``owner`` that is
    told when it ends.
    """

    def __init__(
        self,
        journal: Journal | NullJournal,
        *,
        run_id: str,
        name: str,
        experiment: str,
        parent_id: str | None,
        start_time: int,
        artifacts_dir: Path | None,
        config: Config | None = None,
        owner: RunOwner | None = None,
    ) -> None:
        self.id = run_id
        self.name = name
        self.experiment = experiment
        self.parent_id = parent_id
        self.start_time = start_time
        self.end_time: int | None = None
        self.status = RUNNING
        self.artifacts_dir = artifacts_dir
        self.config = config
        self._owner = owner
        self._journal = journal
        self._params: dict[str, str] = {}
        self._steps: dict[str, int] = {}

    @classmethod
    def start(
        cls,
        journal: Journal | NullJournal,
        *,
        run_id: str,
        name: str,
        experiment: str,
        parent_id: str | None,
        artifacts_dir: Path | None,
        config: Config | None,
        owner: RunOwner | None,
        tags: Mapping[str, Any] | None = None,
        destinations: list[str] | None = None,
    ) -> Run:
        """A new run that has written its header (and its tags) as its journal's first records.

        ``destinations`` are the remote backends the run will ship to, without
        credentials: the header keeps them, so a bare ``autolog sync`` in any later
        process knows where the run is headed (see :mod:`autolog._delivery`).
        """
        run = cls(
            journal,
            run_id=run_id,
            name=name,
            experiment=experiment,
            parent_id=parent_id,
            start_time=start_stamp(),
            artifacts_dir=artifacts_dir,
            config=config,
            owner=owner,
        )
        header: dict[str, Any] = {
            "id": run_id,
            "name": name,
            "experiment": experiment,
            "parent_id": parent_id,
            "start_time": run.start_time,
        }
        if destinations:
            header["destinations"] = destinations
        journal.append(["run", header])
        if parent_id is not None:
            run.set_tags({"parent_run_id": parent_id})
        if tags:
            run.set_tags(tags)
        return run

    @classmethod
    def attach(cls, run_id: str, journal_path: Path, config: Config | None = None) -> Run:
        """A handle appending to a run another process started and will end (see ``attach_run``).

        It has no owner and writes no header: the run's identity is read back
        from the header the owning process wrote.
        """
        from ._journal import Journal, read_journal

        records = read_journal(journal_path, warn=False).records
        header = header_of(records) or {}
        return cls(
            Journal(journal_path),
            run_id=run_id,
            name=header.get("name", ""),
            experiment=header.get("experiment", ""),
            parent_id=header.get("parent_id"),
            start_time=header.get("start_time", 0),
            artifacts_dir=journal_path.parent / "artifacts",
            config=config,
        )

    # -- params and tags ---------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record hyperparameters. Values become strings; nested dicts become dotted keys.

        A param is logged once per run: a second value for the same key raises,
        as in MLflow, so a replica never disagrees with the journal.
        """
        cleaned = v.clean_texts(_mapping(params, "params"), "param", v.MAX_PARAM_LENGTH)
        new = {}
        for key, text in cleaned.items():
            old = self._params.get(key)
            if old is None:
                new[key] = text
            elif old != text:
                raise InvalidInputError(
                    f"param {key!r} is already {old!r} in run {self.id}, cannot change it to "
                    f"{text!r}: params are fixed per run; use a tag or a metric for values "
                    "that change"
                )
        if new:
            self._params.update(new)
            self._journal.append(["params", new])

    def log_param(self, key: str, value: Any) -> None:
        """Record one hyperparameter; see :meth:`log_params`."""
        self.log_params({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (free-form labels); a later value for a key replaces the earlier one."""
        cleaned = v.clean_texts(_mapping(tags, "tags"), "tag", v.MAX_TAG_LENGTH)
        if cleaned:
            self._journal.append(["tags", cleaned])

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag; see :meth:`set_tags`."""
        self.set_tags({key: value})

    # -- metrics -----------------------------------------------------------

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Record one metric value at ``step``.

        Without a step, each key counts its own points from 0, so a chart of a
        metric logged in a loop reads left to right. NaN and infinities are kept.
        """
        v.check_key(key, "metric")
        value = v.metric_value(key, value)
        if step is None:
            step = self._steps.get(key, 0)
        elif type(step) is not int or not v.INT64_MIN <= step <= v.INT64_MAX:
            step = v.check_int64(_step(key, step), f"step of metric {key!r}")
        if timestamp is not None and (
            type(timestamp) is not int or not v.INT64_MIN <= timestamp <= v.INT64_MAX
        ):
            timestamp = _step(key, timestamp, "timestamp")
            v.check_int64(timestamp, f"timestamp of metric {key!r}")
        self._steps[key] = step + 1
        self._journal.append_metric(key, value, step, timestamp or now_ms())

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record several metrics at the same step and time."""
        timestamp = now_ms()
        for key, value in _mapping(metrics, "metrics").items():
            self.log_metric(key, value, step, timestamp)

    def log_dataset(
        self, features: Any, targets: Any = None, context: str = "train", name: str | None = None
    ) -> dict[str, Any] | None:
        """Record what the run trained (``context="train"``) or was evaluated on, as MLflow does.

        Returns the dataset input (name, content digest, schema, profile); see
        :mod:`autolog._datasets` for what is read and how the digest is made.
        """
        from ._datasets import dataset_input

        described = dataset_input(features, targets, context, name)
        if described is not None:
            self._journal.append(["inputs", [described]])
        return described

    # -- files -------------------------------------------------------------

    def log_artifact(self, path: str | Path, name: str | None = None) -> str:
        """Copy a file or folder into the run's artifacts; returns its artifact path.

        ``name`` is the path under the run's artifacts (default: the file's
        name). The copy is made now, so the file may change or vanish afterwards.
        """
        source = Path(path)
        if not source.exists():
            raise InvalidInputError(
                f"cannot log artifact {str(path)!r}: no such file or folder "
                f"(working directory: {Path.cwd()})"
            )
        name = v.check_key(name or source.name, "artifact name").replace("\\", "/")
        if self.artifacts_dir is None:
            return name
        import shutil  # here: shutil (with bz2, lzma) costs milliseconds of autolog()'s start-up

        target = self.artifacts_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
            for file in sorted(p for p in target.rglob("*") if p.is_file()):
                self._record_artifact(file)
        else:
            shutil.copyfile(source, target)
            self._record_artifact(target)
        return name

    def log_text(self, text: str, name: str) -> str:
        """Store ``text`` as the artifact ``name`` (a summary, a report)."""
        name = v.check_key(name, "artifact name").replace("\\", "/")
        if self.artifacts_dir is None:
            return name
        target = self.artifacts_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self._record_artifact(target)
        return name

    def _record_artifact(self, file: Path) -> None:
        assert self.artifacts_dir is not None
        relative = file.relative_to(self.artifacts_dir).as_posix()
        self._journal.append(
            [
                "artifact",
                {"path": relative, "size": file.stat().st_size, "sha256": sha256_file(file)},
            ]
        )

    def log_model(self, model: Any, name: str = "model", **manifest: Any) -> dict[str, Any] | None:
        """Save ``model`` with the plugin that knows its type, as the run's model.

        Returns the manifest (flavor, framework version, files and their sha256),
        which ``autolog.load_model(run_id)`` verifies before loading.
        """
        from ._config import Config
        from ._models import save_model
        from ._patch import autologging_suppressed

        if self.artifacts_dir is None:
            return None
        # The plugins' save hooks run unrecorded: a torch.save or a fit inside
        # one is autolog's own doing, not the user's.
        with autologging_suppressed():
            saved = save_model(model, self.artifacts_dir, name, self.config or Config(), manifest)
        for file in saved["files"]:
            relative = f"{name}/{file}"
            self._journal.append(
                [
                    "artifact",
                    {
                        "path": relative,
                        "size": saved["sizes"][file],
                        "sha256": saved["files"][file],
                    },
                ]
            )
        record = {k: val for k, val in saved.items() if k != "sizes"}
        self._journal.append(["model", record])
        return record

    # -- lifecycle ---------------------------------------------------------

    @property
    def journal_path(self) -> Path | None:
        """The run's journal file (None while autolog is disabled), for ``attach_run``."""
        return getattr(self._journal, "path", None)

    @property
    def ended(self) -> bool:
        return self.status != RUNNING

    def end(self, status: str = FINISHED) -> None:
        """End the run with ``status`` (FINISHED, FAILED or KILLED); later calls do nothing.

        The owner first ends the runs still open inside this one and lets plugins
        add their last records; then the end record is written and the journal's
        descriptor released, so an ended run holds no open file.
        """
        if self.ended:
            return
        if status not in STATUSES or status == RUNNING:
            raise InvalidInputError(f"run status {status!r} is not one of FINISHED, FAILED, KILLED")
        if self._owner is not None:
            self._owner.run_ending(self, status)
        if self.ended:  # the owner's plugins ended it themselves
            return
        self.status = status
        self.end_time = max(now_ms(), self.start_time)  # a burst's start may lead the clock
        self._journal.append(["end", {"status": status, "end_time": self.end_time}])
        self._journal.close()
        if self._owner is not None:
            self._owner.run_ended(self)

    def detach(self) -> None:
        """Stop writing through this handle without ending the run (see ``attach_run``)."""
        self._journal.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.end(status_for(exc))

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} experiment={self.experiment!r} {self.status}>"


def _mapping(values: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(values, Mapping):
        raise InvalidInputError(
            f"{what} must be a dict of name -> value, got {type(values).__name__}: {values!r:.60}"
        )
    return values


def _step(key: str, step: Any, what: str = "step") -> int:
    try:
        as_int = int(step)
    except (TypeError, ValueError):
        as_int = None
    if as_int is None or as_int != step or isinstance(step, bool):
        raise InvalidInputError(f"{what} of metric {key!r} must be an integer, got {step!r}")
    return as_int
