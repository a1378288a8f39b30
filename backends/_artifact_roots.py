"""Where a tracking server keeps a run's artifacts, and how the HTTP backend reaches them.

A server hands out each run's ``artifact_uri``. When it proxies artifacts
(``mlflow-artifacts:/...``, the default of ``autolog server`` and ``mlflow
server``), files travel through the server's HTTP API. When it does not (``mlflow
server --default-artifact-root wasbs://...`` or a local folder with
``--no-serve-artifacts``), the client writes them there itself, as MLflow's
client does: blob roots through the Azure code and credential chain this
package already has, local ``file:`` paths where this machine can reach them.

Every path is checked to stay under the run's root before anything is written
or read, whatever a listing said.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, unquote, urlsplit

from .._containment import contained
from ..errors import BackendError, UnsafePathError

if TYPE_CHECKING:
    from ._mlflow_rest import RestClient

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


class ArtifactRootUnavailable(BackendError):
    """The run's artifact root cannot be written from here now; the message says what to set.

    Not permanent: the artifacts wait beside the journal and are offered again
    by the next shipping round or ``autolog sync``.
    """


class ArtifactRoot(Protocol):
    """A run's artifact folder on the server side: put, list and get files by relative path."""

    def put(self, path: str, source: Path) -> None: ...

    def list(self, folder: str) -> list[tuple[str, bool]]:
        """Entries directly under ``folder``: (path relative to the root, is a folder)."""
        ...

    def get(self, path: str, dest: Path) -> None: ...


def checked_path(path: str) -> str:
    """``path`` as a relative ``/`` path inside its root; refuses absolute paths and ``..``."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    absolute = bool(parts) and (parts[0] == "/" or re.fullmatch(r"[A-Za-z]:", parts[0]) is not None)
    if absolute or ".." in parts:
        raise UnsafePathError(f"artifact path {path!r} leaves the run's artifact folder; refused")
    return "/".join(p for p in parts if p not in ("", "."))


def artifact_root(artifact_uri: str, rest: RestClient) -> ArtifactRoot:
    """The root a run's ``artifact_uri`` names; ArtifactRootUnavailable when it is out of reach."""
    scheme = urlsplit(artifact_uri).scheme.lower()
    if scheme == "mlflow-artifacts":
        return ProxiedRoot(rest, urlsplit(artifact_uri).path.strip("/"))
    if scheme in ("wasbs", "wasb", "abfss", "abfs"):
        return BlobRoot.open(artifact_uri)
    if scheme in ("file", ""):
        return FolderRoot.open(artifact_uri)
    raise ArtifactRootUnavailable(
        f"the server keeps artifacts at {artifact_uri!r}, which autolog cannot write to; "
        "start the server with artifact serving on (mlflow server --serve-artifacts, the "
        "default) or with a wasbs:// or local artifact root"
    )


class ProxiedRoot:
    """Artifacts through the server's ``mlflow-artifacts`` API."""

    def __init__(self, rest: RestClient, root: str) -> None:
        self.rest, self.root = rest, root

    def _url(self, path: str) -> str:
        return f"{self.rest.base}{ARTIFACTS}/{quote(self.root + '/' + checked_path(path))}"

    def put(self, path: str, source: Path) -> None:
        self.rest.request("PUT", self._url(path), file=source)

    def list(self, folder: str) -> list[tuple[str, bool]]:
        folder = checked_path(folder)
        where = f"{self.root}/{folder}".rstrip("/")
        listing = self.rest.request("GET", self.rest.base + ARTIFACTS, params={"path": where})
        return _entries(folder, listing.json().get("files", []))

    def get(self, path: str, dest: Path) -> None:
        dest.write_bytes(self.rest.request("GET", self._url(path)).content)


class FolderRoot:
    """A folder on this machine (a ``--no-serve-artifacts`` server on the same host or share)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def open(cls, artifact_uri: str) -> FolderRoot:
        parts = urlsplit(artifact_uri)
        if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
            raise ArtifactRootUnavailable(
                f"the server keeps artifacts on another host ({artifact_uri!r}); mount it here "
                "or start the server with artifact serving on"
            )
        folder = Path(unquote(parts.path) if parts.scheme else artifact_uri)
        anchor = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if not folder.is_absolute() or anchor is None or anchor == Path(anchor.anchor):
            raise ArtifactRootUnavailable(
                f"the server keeps artifacts in the folder {str(folder)!r}, which this machine "
                "does not have; run where that folder is reachable or start the server with "
                "artifact serving on"
            )
        return cls(folder)

    def _inside(self, path: str) -> Path:
        relative = checked_path(path)
        return contained(self.folder, relative, "artifact") if relative else self.folder

    def put(self, path: str, source: Path) -> None:
        target = self._inside(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            shutil.copyfile(source, partial)
            partial.replace(target)
        except OSError as exc:
            raise ArtifactRootUnavailable(
                f"the server keeps artifacts in the folder {self.folder}, which cannot be "
                f"written here ({exc.strerror or exc}); run where it is writable"
            ) from exc

    def list(self, folder: str) -> list[tuple[str, bool]]:
        base = self._inside(folder)
        if not base.is_dir():
            return []
        prefix = checked_path(folder)
        return [
            (f"{prefix}/{entry.name}".strip("/"), entry.is_dir())
            for entry in sorted(base.iterdir())
            if not entry.is_symlink() and not entry.name.startswith(".")
        ]

    def get(self, path: str, dest: Path) -> None:
        source = self._inside(path)
        if not source.is_file() or source.is_symlink():
            raise BackendError(f"no artifact file {path!r} in {self.folder}")
        shutil.copyfile(source, dest)


class BlobRoot:
    """A blob container prefix (``wasbs://`` or ``abfss://``), with the Azure credential chain."""

    def __init__(self, store: object, uri: str = "") -> None:
        self.store, self.uri = store, uri

    @classmethod
    def open(cls, artifact_uri: str) -> BlobRoot:
        try:
            from .azure_artifacts import BlobArtifactStore
        except ImportError as exc:  # the SDK is an extra
            raise ArtifactRootUnavailable(
                f"the server keeps artifacts in Azure blob storage ({artifact_uri}); "
                "pip install 'autolog-tracking[azure]' to write them"
            ) from exc
        try:
            return cls(BlobArtifactStore.from_uri(as_wasbs(artifact_uri)), artifact_uri)
        except ImportError as exc:
            raise ArtifactRootUnavailable(
                f"the server keeps artifacts in Azure blob storage ({artifact_uri}); "
                "pip install 'autolog-tracking[azure]' to write them"
            ) from exc
        except BackendError as exc:
            raise ArtifactRootUnavailable(
                f"the server keeps artifacts in {artifact_uri}, and {exc}"
            ) from exc

    def put(self, path: str, source: Path) -> None:
        relative = checked_path(path)
        try:
            self.store.put_file(relative, source)  # type: ignore[attr-defined]
        except Exception as exc:
            # Credentials the SDK could not find, a firewall, a storage outage: the file
            # waits beside the journal, the run's other records go on.
            raise ArtifactRootUnavailable(
                f"the server keeps artifacts in {self.uri}, which refused the upload "
                f"({type(exc).__name__}: {_first_line(exc)}); set AZURE_STORAGE_CONNECTION_STRING "
                "or another Azure credential for that account"
            ) from exc

    def list(self, folder: str) -> list[tuple[str, bool]]:
        folder = checked_path(folder)
        entries = self.store.list(folder)  # type: ignore[attr-defined]
        return [(checked_path(e.path), e.is_dir) for e in entries]

    def get(self, path: str, dest: Path) -> None:
        self.store.get_file(checked_path(path), dest)  # type: ignore[attr-defined]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def as_wasbs(uri: str) -> str:
    """``abfss://c@account.dfs.core.windows.net/p`` as the blob endpoint's ``wasbs://`` URI."""
    parts = urlsplit(uri)
    container, _, host = parts.netloc.rpartition("@")
    host = host.replace(".dfs.", ".blob.", 1)
    return f"wasbs://{container}@{host}{parts.path}"


def _entries(folder: str, files: list[dict]) -> list[tuple[str, bool]]:
    """A listing's names as checked paths under ``folder``; a name leaving it is refused."""
    entries = []
    for entry in files:
        # A listing names entries relative to the folder listed; an absolute name is read
        # as relative to it too, never as given. '..' is refused.
        name = str(entry.get("path", "")).lstrip("/")
        child = checked_path(f"{folder}/{checked_path(name)}".strip("/"))
        if child and child.startswith(folder):
            entries.append((child, bool(entry.get("is_dir"))))
    return entries
