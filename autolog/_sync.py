"""``autolog sync`` and ``autolog status``: every run's records to where they were headed.

Each run's journal header names its destinations (see :mod:`autolog._delivery`),
so a bare ``autolog sync`` in a new shell, after a crash or a SIGKILL, with no
flag and no ``AUTOLOG_*`` variable, knows where everything goes. Backends named
by ``--backend`` replace the recorded destinations for this sync (every run is
sent there, whether it was headed there or not); backends configured through
``AUTOLOG_BACKEND`` or ``[tool.autolog]`` are added to them.

A destination is sent to run by run. A run it refuses (a 4xx, or a 500 that
repeats for the same batch) is set aside with the server's reason and the
next run goes on; a destination that cannot be reached, or refuses every
request (credentials), ends the attempt at that destination only. The exit code
is 1 while anything stays unsent, with one line per destination saying why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from ._config import Config, resolve
from ._delivery import destination_uri, read_header, run_destinations
from ._journal import read_journal
from ._shipper import SERVER_ERROR_ATTEMPTS, Shipper, is_server_error
from ._store import LocalStore
from ._validation import strip_credentials
from .backend import Backend


@dataclass
class Destination:
    """One backend and the runs with something to send to it."""

    uri: str
    run_ids: list[str] = field(default_factory=list)
    backend: Backend | None = None
    #: Why nothing can be sent there (no plugin for the scheme, credentials missing).
    problem: str | None = None


@dataclass
class Outcome:
    """What one destination got: records and runs sent, runs set aside, why it stopped."""

    uri: str
    sent_records: int = 0
    sent_runs: int = 0
    unsent_records: int = 0
    unsent_runs: int = 0
    set_aside: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None

    @property
    def delivered(self) -> bool:
        return self.unsent_records == 0 and not self.set_aside and self.stopped is None


def plan(store: LocalStore, given: Iterable[str], config: Config) -> dict[str, Destination]:
    """Destinations by URI, each with the runs headed there (all runs for ``given`` ones)."""
    given = [uri for uri in given if uri]
    configured = [] if given else _configured_remotes(config)
    destinations: dict[str, Destination] = {}
    for run_id in sorted(store.run_ids()):
        if given:
            targets = list(given)
        else:
            header = read_header(store.journal_path(run_id))
            targets = _unique([*run_destinations(header), *configured])
        for uri in targets:
            key = destination_uri(strip_credentials(uri))
            destinations.setdefault(key, Destination(uri)).run_ids.append(run_id)
    for destination in destinations.values():
        _open(destination, config)
    return destinations


def _configured_remotes(config: Config) -> list[str]:
    """Remote backends configured in the environment or pyproject (not the local store)."""
    from ._store import local_path

    return [uri for uri in config.backends if local_path(uri) is None]


def _open(destination: Destination, config: Config) -> None:
    from .backend import backend_for
    from .errors import AutologError

    try:
        backend = backend_for(destination.uri, config)
    except AutologError as exc:
        destination.problem = strip_credentials(str(exc))
        return
    if not backend.remote:
        destination.problem = f"{destination.uri} is the local store itself"
        return
    destination.backend = backend


def sync(store: LocalStore, destinations: dict[str, Destination], err: TextIO, quiet: bool) -> bool:
    """Send to every destination; print one line each; True if everything was delivered."""
    from ._progress import ProgressBar

    outcomes = []
    for destination in destinations.values():
        outcome = Outcome(strip_credentials(destination.uri))
        if destination.backend is None:
            outcome.stopped = destination.problem
            _count_unsent(store, destination, outcome)
        else:
            shipper = Shipper(destination.backend, store)
            work = {r: shipper.pending_records(r) for r in destination.run_ids}
            work = {r: n for r, n in work.items() if n}
            bar = ProgressBar(f"sync to {outcome.uri}", sum(work.values()), err, not quiet)
            try:
                _send(shipper, work, bar, outcome)
            finally:
                bar.finish()
                destination.backend.close()
        outcomes.append(outcome)
    for outcome in outcomes:
        print(_report(outcome), file=err)
    return all(outcome.delivered for outcome in outcomes)


def _send(shipper: Shipper, work: dict[str, int], bar: object, outcome: Outcome) -> None:
    advance = getattr(bar, "advance", None)
    for position, (run_id, count) in enumerate(work.items()):
        for attempt in range(SERVER_ERROR_ATTEMPTS):
            try:
                shipper.ship_run(run_id, progress=advance)
            except Exception as exc:
                reason = strip_credentials(f"{type(exc).__name__}: {exc}")
                if getattr(exc, "refuses_everything", False):
                    outcome.stopped = f"refused: {reason}; {_credentials_hint(outcome.uri)}"
                elif is_server_error(exc) and attempt + 1 < SERVER_ERROR_ATTEMPTS:
                    continue
                elif getattr(exc, "permanent", False) or is_server_error(exc):
                    shipper.set_aside(run_id, exc)
                    outcome.set_aside[run_id] = reason
                else:
                    outcome.stopped = f"down: {reason}"
                break
            else:
                outcome.sent_records += count
                outcome.sent_runs += 1
                break
        if outcome.stopped is not None:
            rest = list(work)[position:]
            outcome.unsent_runs += len(rest)
            outcome.unsent_records += sum(shipper.pending_records(r) for r in rest)
            return


def _count_unsent(store: LocalStore, destination: Destination, outcome: Outcome) -> None:
    """Count what waits for a destination that cannot be used, from the journals alone."""
    from ._delivery import Delivery, destination_key

    key = destination_key(destination.uri)
    for run_id in destination.run_ids:
        delivery = Delivery.load(store.run_dir(run_id), key, destination.uri)
        path = store.journal_path(run_id)
        pending = len(read_journal(path, delivery.offset, warn=False).records)
        pending += len(delivery.deferred)
        if pending:
            outcome.unsent_runs += 1
            outcome.unsent_records += pending


def _report(outcome: Outcome) -> str:
    """What was sent to a destination, then one line on what was not and why."""
    lines = [
        f"autolog: {outcome.sent_records} record(s) of {outcome.sent_runs} run(s) sent "
        f"to {outcome.uri}"
    ]
    if outcome.set_aside:
        refused = "; ".join(f"{run_id} ({why})" for run_id, why in outcome.set_aside.items())
        lines.append(
            f"autolog: {len(outcome.set_aside)} run(s) refused by {outcome.uri}: {refused}"
        )
    if outcome.stopped is not None:
        lines.append(
            f"autolog: {outcome.unsent_records} record(s) of {outcome.unsent_runs} run(s) not "
            f"sent to {outcome.uri}: {outcome.stopped}; run `autolog sync` again once it answers"
        )
    return "\n".join(lines)


def status(store: LocalStore, destinations: dict[str, Destination], out: TextIO) -> int:
    """Print what is pending per destination, without sending; the number of pending records."""
    from ._delivery import Delivery, destination_key

    total = 0
    if not destinations:
        print(f"autolog: nothing is headed anywhere but the local store {store.root}", file=out)
        return 0
    for destination in destinations.values():
        uri = strip_credentials(destination.uri)
        key = destination_key(destination.uri)
        runs = records = deferred = 0
        aside: list[str] = []
        for run_id in destination.run_ids:
            delivery = Delivery.load(store.run_dir(run_id), key, destination.uri)
            path = store.journal_path(run_id)
            pending = len(read_journal(path, delivery.offset, warn=False).records)
            if pending or delivery.deferred:
                runs += 1
                records += pending
                deferred += len(delivery.deferred)
            if delivery.set_aside:
                aside.append(f"  run {run_id} set aside: {delivery.set_aside.get('reason', '?')}")
        total += records + deferred
        state = "" if destination.problem is None else f" (cannot send: {destination.problem})"
        line = f"{uri}: {records} record(s) of {runs} run(s) pending"
        if deferred:
            line += f", {deferred} artifact(s) waiting"
        print(line + state, file=out)
        for text in aside:
            print(text, file=out)
    if total:
        print("send them with: autolog sync", file=out)
    return total


def run_sync(
    store_dir: str | None, given: list[str] | None, err: TextIO, quiet: bool, dry_run: bool
) -> int:
    """The ``autolog sync`` command: exit 0 when everything reached its destinations."""
    from .plugins import load_plugins

    config = resolve({"dir": store_dir})
    load_plugins()
    store = LocalStore(config.dir)
    destinations = plan(store, given or [], config)
    if dry_run:
        status(store, destinations, err)
        return 0
    if not destinations:
        print(
            f"autolog: nothing to sync: no run in {store.root} is headed for a remote "
            "backend; name one with --backend",
            file=err,
        )
        return 0
    return 0 if sync(store, destinations, err, quiet) else 1


def _credentials_hint(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return "set AUTOLOG_TRACKING_TOKEN (or MLFLOW_TRACKING_TOKEN / MLFLOW_TRACKING_USERNAME)"
    return "check the credentials in the environment"


def _unique(items: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for uri in items:
        seen.setdefault(destination_uri(strip_credentials(uri)), uri)
    return list(seen.values())
