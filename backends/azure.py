"""Azure blob storage as a backend: ``wasbs://`` and ``azure://`` URIs.

A container (under an optional prefix) gets the local store's layout, so it
reads back like one::

    PREFIX/<run_id>/journal.jsonl        append blob: the journal's bytes, in order
    PREFIX/<run_id>/artifacts/<path>     block blobs: artifacts and the model's files

Shipping is exactly-once: every append carries the append-position condition,
so the service accepts bytes only at the offset they have in the local
journal. A batch re-sent after a timeout whose append had in fact succeeded
finds the blob already that long, checks the bytes are the same, and sends
nothing. Artifacts are uploaded before the journal lines naming them, so a
reader never sees a record whose file is missing.

Credentials come from the environment (see ``HOW_TO_AUTHENTICATE``). When the
backend is configured with ``autolog()``, it tries them once on a daemon
thread and waits at most ``CREDENTIAL_CHECK_WAIT`` seconds: a refused or
missing credential is then one AutologWarning raised from ``autolog()`` itself
(or from the thread, if the service is slow to answer), naming the variables
to set. Training is never blocked or broken by it: the records wait in the
journal and ``autolog sync`` sends them later.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .. import _config
from .._config import Config
from .._containment import contained
from .._journal import JOURNAL_NAME, read_journal
from ..backend import Backend, Batch
from ..errors import (
    AutologError,
    AutologWarning,
    BackendError,
    RunNotFoundError,
    UnsafePathError,
)
from ..sources import is_run_id
from .azure_source import BlobJournalSource
from .azure_store import (
    HOW_TO_AUTHENTICATE,
    BlobLocation,
    Credentials,
    container_client,
    credential_problem,
    describe,
    error_code,
    find_credentials,
    parse_blob_uri,
)

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from .azure_artifacts import ArtifactEntry, BlobArtifactStore

__all__ = ["ArtifactEntry", "AzureBlobBackend", "BlobArtifactStore", "open_blob_backend"]


def __getattr__(name: str) -> Any:
    # The artifact store is re-exported lazily: this module is imported by every
    # autolog(), and the store's imports (thread pools...) cost milliseconds.
    if name in ("ArtifactEntry", "BlobArtifactStore"):
        from . import azure_artifacts

        return getattr(azure_artifacts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The longest ``autolog()`` waits for the credential check before letting it finish alone.
CREDENTIAL_CHECK_WAIT = 1.0
_checked: set[tuple[str, str]] = set()
_checked_lock = threading.Lock()


class AzureBlobBackend(BlobJournalSource, Backend):
    """A container that receives journals and artifacts, and reads back like a local store."""

    remote = True
    max_batch_records = 5000

    def __init__(
        self, location: BlobLocation, credentials: Credentials, store_dir: str = "./autolog-runs"
    ) -> None:
        # The exit flush runs after interpreter shutdown began, when a first import
        # of concurrent.futures.thread (by us or the SDK) fails: import it now.
        import concurrent.futures.thread  # noqa: F401

        self.uri = location.uri
        self.location = location
        self.credentials = credentials
        self.store_dir = store_dir
        self._client: ContainerClient | None = None
        self._client_lock = threading.Lock()
        self._container_ready = False
        self._lengths: dict[str, int] = {}  # journal blob lengths this process appended to
        self._warned_artifacts: set[tuple[str, str]] = set()

    @property
    def container(self) -> ContainerClient:
        """The container client, made on first use; raises if there is no credential."""
        if self.credentials.problem:
            raise BackendError(f"{self.credentials.problem}: {HOW_TO_AUTHENTICATE}")
        with self._client_lock:
            if self._client is None:
                self._client = container_client(self.location, self.credentials)
            return self._client

    def artifacts(self, run_id: str) -> BlobArtifactStore:
        """The artifact files of one run."""
        from .azure_artifacts import BlobArtifactStore

        prefix = self.location.blob_name(_checked_id(run_id), "artifacts")
        return BlobArtifactStore(self.container, prefix, location=f"{self.uri}/{run_id}/artifacts")

    def close(self) -> None:
        super().close()  # the journal source's index
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- credentials -------------------------------------------------------

    def credential_message(self, problem: str) -> str:
        """The one message for a missing or refused credential: what, which variables, and calm."""
        return (
            f"autolog cannot write to {self.uri}: {problem}. To fix it, {HOW_TO_AUTHENTICATE}. "
            f"Training goes on: records wait in {self.store_dir} and are sent once this "
            f"works (or later with: autolog sync --dir {self.store_dir} --backend {self.uri})"
        )

    def check_credentials(self, wait: float = CREDENTIAL_CHECK_WAIT) -> None:
        """Warn once per process and URI if the credential is missing or refused; never raise."""
        key = (self.uri, self.credentials.source)
        with _checked_lock:
            if key in _checked:
                return
            _checked.add(key)
        if self.credentials.problem:
            _warn(self.credential_message(self.credentials.problem))
            return
        _CredentialCheck(self).run(wait)

    def probe_credentials(self) -> str | None:
        """Try the credential with one quick request; the problem found, or None.

        Creating the container is the request: it is needed anyway, and its
        answer tells a refused credential (403 AuthenticationFailed) apart from
        a missing permission (a SAS scoped to one container, which is fine).
        An unreachable service is not reported here: the shipper says that.
        """
        from azure.core.exceptions import (
            AzureError,
            ClientAuthenticationError,
            HttpResponseError,
            ResourceExistsError,
            ServiceRequestError,
            ServiceResponseError,
        )

        credentials = self.credentials
        if credentials.source == "DefaultAzureCredential":
            try:
                credentials.credential.get_token("https://storage.azure.com/.default")
            except Exception as exc:
                reason = describe(exc, credentials)
                return f"DefaultAzureCredential found no usable Azure identity ({reason})"
        client = None
        try:
            client = container_client(self.location, credentials, quick=True)
            client.create_container()
        except ResourceExistsError:
            pass
        except (ServiceRequestError, ServiceResponseError):
            pass
        except (ClientAuthenticationError, HttpResponseError) as exc:
            return credential_problem(exc, credentials)
        except (AzureError, ValueError) as exc:
            reason = describe(exc, credentials)
            return f"the credential from {credentials.source} is not usable ({reason})"
        finally:
            if client is not None:
                client.close()
        return None

    @contextlib.contextmanager
    def _storage_errors(self, doing: str, explain: bool = True) -> Iterator[None]:
        """Turn SDK errors into one scrubbed BackendError line (the SDK's may quote a SAS URL).

        ``explain`` adds which variables to set to a refused credential; shipping
        leaves it out, the warning from ``autolog()`` has said it already.
        """
        from azure.core.exceptions import AzureError

        try:
            yield
        except AutologError:
            raise
        except (AzureError, ValueError, OSError) as exc:
            if error_code(exc) == "ContainerNotFound":
                self._container_ready = False
            message = credential_problem(exc, self.credentials)
            if message is None:
                message = f"{doing} in {self.uri} failed: {describe(exc, self.credentials)}"
            elif explain:
                message += f": {HOW_TO_AUTHENTICATE}"
            raise BackendError(message) from None

    # -- shipping ----------------------------------------------------------

    def ship(self, batch: Batch) -> None:
        """Upload the batch's artifacts, then append its journal bytes at their own offset."""
        if self.credentials.problem:
            raise BackendError(self.credentials.problem)
        with self._storage_errors(f"shipping run {batch.run_id}", explain=False):
            self._ensure_container()
            self._upload_artifacts(batch.run_id, batch.artifacts_dir, batch.records, batch.end)
            self._append_journal(batch)

    def _ensure_container(self) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        if self._container_ready:
            return
        try:
            self.container.create_container()
        except ResourceExistsError:
            pass
        except HttpResponseError as exc:
            if exc.status_code != 403:  # a container-scoped SAS may not create; it may exist
                raise
        self._container_ready = True

    def _upload_artifacts(
        self, run_id: str, artifacts_dir: Path, records: list[list[Any]], after: int
    ) -> None:
        from .azure_artifacts import ArtifactChecksumError

        store = self.artifacts(run_id)
        for record in records:
            if record[0] != "artifact":
                continue
            path, sha256 = record[1]["path"], record[1].get("sha256")
            try:
                source = contained(artifacts_dir, path, f"artifact of run {run_id}")
                store.put_file(path, source, sha256)
            except UnsafePathError as exc:  # a crafted journal naming /etc/passwd
                self._warn_artifact_skipped(run_id, path, exc)
            except (ArtifactChecksumError, FileNotFoundError) as exc:
                if not _logged_again(artifacts_dir, path, after):
                    self._warn_artifact_skipped(run_id, path, exc)

    def _warn_artifact_skipped(self, run_id: str, path: str, exc: Exception) -> None:
        if (run_id, path) in self._warned_artifacts:
            return
        self._warned_artifacts.add((run_id, path))
        reason = "its local file is gone" if isinstance(exc, FileNotFoundError) else str(exc)
        _warn(f"artifact {path!r} of run {run_id} was not copied to {self.uri}: {reason}")

    def _append_journal(self, batch: Batch) -> None:
        from .azure_journal import append_batch

        blob = self.container.get_blob_client(
            self.location.blob_name(_checked_id(batch.run_id), JOURNAL_NAME)
        )

        def upload_artifacts(records: list[list[Any]]) -> None:
            self._upload_artifacts(batch.run_id, batch.artifacts_dir, records, batch.start)

        self._lengths[batch.run_id] = append_batch(
            blob, batch, self._lengths.get(batch.run_id), upload_artifacts, self.uri
        )

    # -- reading: see azure_source.py; downloads check every sha256 ----------

    def download_artifacts(self, run_id: str, path: str, dest: Path) -> Path:
        """Copy the artifact file or folder ``path`` into ``dest``, checking sha256s."""
        store = self.artifacts(run_id)
        folder = PurePosixPath(path.replace("\\", "/"))
        target = Path(dest) / folder.name
        with self._storage_errors(f"downloading {path!r} of run {run_id}"):
            store.blob_name(path)  # refuses absolute paths and '..' before any request
            files = store.walk(path)
            for entry in files:  # names from the blob listing: kept inside target
                relative = PurePosixPath(entry.path).relative_to(folder).as_posix()
                store.get_file(entry.path, contained(target, relative, f"blob in {self.uri}"))
            if files:
                return target
            if store.exists(path):
                return store.get_file(path, target)
        raise RunNotFoundError(f"run {run_id!r} has no artifact {path!r} in {self.uri}")


class _CredentialCheck:
    """Runs :meth:`AzureBlobBackend.probe_credentials` on a daemon thread, warns exactly once.

    The caller waits a little; if the answer came in time, the caller warns (so
    the warning comes from ``autolog()``), otherwise the thread does when it ends.
    """

    def __init__(self, backend: AzureBlobBackend) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._finished = False
        self._caller_left = False
        self._problem: str | None = None

    def run(self, wait: float) -> None:
        thread = threading.Thread(target=self._probe, name="autolog-azure-check", daemon=True)
        thread.start()
        thread.join(wait)
        with self._lock:
            self._caller_left = True
            problem = self._problem if self._finished else None
        if problem:
            _warn(self.backend.credential_message(problem))

    def _probe(self) -> None:
        try:
            problem = self.backend.probe_credentials()
        except Exception as exc:  # the check must never break anything
            problem = f"checking the credential failed ({describe(exc, self.backend.credentials)})"
        with self._lock:
            self._finished = True
            self._problem = problem
            late = self._caller_left
        if late and problem:
            _warn(self.backend.credential_message(problem))


def _warn(message: str) -> None:
    """Warn, pointing at the user's line (their ``autolog()`` call), not at autolog's own code."""
    ours = (str(Path(__file__).parent), str(Path(_config.__file__).parent))
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(ours):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, AutologWarning, stacklevel=level)


def _checked_id(run_id: str) -> str:
    if not is_run_id(run_id):
        raise RunNotFoundError(f"{run_id!r} is not a run id (32 hexadecimal digits)")
    return run_id


def _logged_again(artifacts_dir: Path, path: str, after: int) -> bool:
    """True if the local journal has a later record for artifact ``path`` (it was replaced)."""
    try:
        records = read_journal(artifacts_dir.parent / JOURNAL_NAME, after, warn=False).records
    except OSError:
        return False
    return any(r[0] == "artifact" and r[1].get("path") == path for r in records)


def _sdk_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("azure.storage.blob") is not None
    except ModuleNotFoundError:
        return False


def open_blob_backend(uri: str, config: Config) -> Backend | None:
    """An AzureBlobBackend for ``wasbs://`` and ``azure://`` URIs (see backends/schemes.py).

    Without azure-storage-blob installed this returns None, and the core's
    error tells the user to ``pip install 'autolog-tracking[azure]'``. The
    credential check runs only for backends being configured to receive
    records (``autolog()``, ``autolog sync``), not for a one-off read.
    """
    location = parse_blob_uri(uri)
    if location is None or not _sdk_installed():
        return None
    backend = AzureBlobBackend(location, find_credentials(location), store_dir=config.dir)
    if uri in config.backends:
        backend.check_credentials()
    return backend
