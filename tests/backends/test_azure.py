"""The Azure blob backend against a real Azurite: shipping, reading, credentials, outages."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import autolog
from autolog._config import resolve
from autolog._journal import read_journal
from autolog.backend import Batch, backend_for
from autolog.backends.azure import AzureBlobBackend
from autolog.backends.azure_artifacts import (
    SHA256_METADATA,
    ArtifactChecksumError,
    BlobArtifactStore,
)
from autolog.backends.azure_store import find_credentials, parse_blob_uri
from autolog.errors import AutologWarning, ConfigurationError, RunNotFoundError
from tests.support.azurite import (
    ACCOUNT,
    AZURE_VARIABLES,
    KEY,
    Azurite,
    blob_service,
    clean_azure_environment,
    unique_container,
)


@pytest.fixture
def uri(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> str:
    """A wasbs:// URI of a fresh container, with this process holding the development key."""
    for variable in AZURE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in azurite.env().items():
        monkeypatch.setenv(variable, value)
    return azurite.uri(unique_container())


def container_of(azurite: Azurite, uri: str):
    location = parse_blob_uri(uri)
    assert location is not None
    return blob_service(azurite).get_container_client(location.container)


def backend(uri: str) -> AzureBlobBackend:
    """The backend the plugin hook returns for ``uri``, as ``autolog sync`` would build it."""
    found = backend_for(uri, resolve({"dir": "runs"}))
    assert isinstance(found, AzureBlobBackend)
    return found


def log_local_run(steps: int = 200, artifact: bytes | None = b"notes\n") -> str:
    """A finished run in the local store ./runs (no remote backend); returns its id."""
    autolog.autolog(backend="./runs")
    with autolog.start_run(name="local", experiment="azure") as run:
        run.log_params({"lr": 0.1, "layers": [64, 32]})
        for step in range(steps):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        if artifact is not None:
            Path("notes.txt").write_bytes(artifact)
            run.log_artifact("notes.txt")
    return run.id


def batches(run_id: str, size: int) -> list[Batch]:
    """The run's journal cut into batches of ``size`` records, as the shipper cuts it."""
    path = Path("runs") / run_id / "journal.jsonl"
    read = read_journal(path)
    raw = path.read_bytes()
    result, start = [], 0
    for first in range(0, len(read.records), size):
        records = read.records[first : first + size]
        end = read.ends[first + len(records) - 1]
        result.append(
            Batch(
                run_id,
                read.records[0][1],
                records,
                start,
                end,
                raw[start:end],
                path.parent / "artifacts",
            )
        )
        start = end
    return result


def stored_journal(azurite: Azurite, uri: str, run_id: str) -> bytes:
    name = f"runs/{run_id}/journal.jsonl"
    return container_of(azurite, uri).get_blob_client(name).download_blob().readall()


def local_journal(run_id: str, root: Path = Path("runs")) -> bytes:
    return (root / run_id / "journal.jsonl").read_bytes()


def run_script(
    code: str, cwd: Path, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with only the Azure variables in ``env``."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=cwd,
        env={**clean_azure_environment(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def autolog_cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autolog", *args],
        cwd=cwd,
        env={**clean_azure_environment(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


class TestUris:
    def test_wasbs_uri_names_container_account_and_prefix(self) -> None:
        """The MLflow form gives container, account, endpoint and prefix."""
        location = parse_blob_uri("wasbs://models@acme.blob.core.windows.net/team/runs/")
        assert location is not None
        assert (location.container, location.account, location.prefix) == (
            "models",
            "acme",
            "team/runs",
        )
        assert location.endpoint == "https://acme.blob.core.windows.net"
        assert location.blob_name("abc", "journal.jsonl") == "team/runs/abc/journal.jsonl"

    def test_azure_uri_takes_the_account_from_the_connection_string(self) -> None:
        """azure://CONTAINER/PREFIX needs no account: the connection string has it."""
        location = parse_blob_uri("azure://models")
        assert location is not None and location.account is None and location.prefix == ""
        found = find_credentials(
            location, {"AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=secretkey"}
        )
        assert found.problem is None and found.source == "AZURE_STORAGE_CONNECTION_STRING"
        missing = find_credentials(location, {"AZURE_STORAGE_KEY": "secretkey"})
        assert "AZURE_STORAGE_ACCOUNT" in missing.problem

    def test_bad_uris_are_refused_with_the_value_and_without_a_pasted_token(self) -> None:
        """An invalid container is named; a SAS pasted into the URI is refused, not repeated."""
        with pytest.raises(ConfigurationError, match="'Bad_Name' is not a valid container"):
            parse_blob_uri("wasbs://Bad_Name@acme.blob.core.windows.net/runs")
        with pytest.raises(ConfigurationError, match="AZURE_STORAGE_SAS_TOKEN") as error:
            parse_blob_uri("wasbs://models@acme.blob.core.windows.net/runs?sv=1&sig=s3cr3tsig")
        assert "s3cr3tsig" not in str(error.value)
        assert parse_blob_uri("./autolog-runs") is None
        assert parse_blob_uri("https://tracking:5000") is None


class TestShipping:
    def test_fan_out_keeps_a_local_copy_and_a_blob_copy_in_the_same_layout(
        self, azurite: Azurite, uri: str
    ) -> None:
        """backend=[folder, wasbs]: byte-identical journals, artifacts at the same paths."""
        autolog.autolog(backend=["./runs", uri])
        with autolog.start_run(name="fan-out") as run:
            run.log_params({"alpha": 0.5})
            for step in range(300):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
            Path("notes.txt").write_text("hello")
            run.log_artifact("notes.txt", "reports/notes.txt")
        assert autolog.flush(timeout=30)
        names = sorted(b.name for b in container_of(azurite, uri).list_blobs())
        assert names == [
            f"runs/{run.id}/artifacts/reports/notes.txt",
            f"runs/{run.id}/journal.jsonl",
        ]
        assert stored_journal(azurite, uri, run.id) == local_journal(run.id)
        properties = container_of(azurite, uri).get_blob_client(names[1]).get_blob_properties()
        assert properties.blob_type == "AppendBlob"

    def test_an_azure_uri_ships_to_the_account_of_the_connection_string(
        self, azurite: Azurite, uri: str
    ) -> None:
        """azure://CONTAINER/PREFIX reaches the account and endpoint the connection string names."""
        container = unique_container()
        autolog.autolog(backend=["./runs", f"azure://{container}/team/runs"])
        with autolog.start_run(name="short form") as run:
            run.log_metric("loss", 0.5)
        assert autolog.flush(timeout=30)
        client = blob_service(azurite).get_container_client(container)
        name = f"team/runs/{run.id}/journal.jsonl"
        assert client.get_blob_client(name).download_blob().readall() == local_journal(run.id)

    def test_a_batch_sent_again_after_its_append_succeeded_is_stored_once(
        self, azurite: Azurite, uri: str
    ) -> None:
        """Re-sending batches, whole or overlapping, never duplicates a byte."""
        run_id = log_local_run()
        parts = batches(run_id, 50)
        target = backend(uri)
        target.ship(parts[0])
        target.ship(parts[0])  # the same batch again, as after a timeout
        fresh = backend(uri)  # another process, knowing nothing of the blob
        fresh.ship(parts[0])
        start, end = parts[1].start, parts[2].end
        raw = local_journal(run_id)[start:end]
        overlapping = Batch(
            run_id,
            parts[0].header,
            parts[1].records + parts[2].records,
            start,
            end,
            raw,
            parts[1].artifacts_dir,
        )
        fresh.ship(parts[1])
        fresh.ship(overlapping)  # half already stored
        for part in parts[2:]:
            target.ship(part)
        assert stored_journal(azurite, uri, run_id) == local_journal(run_id)

    def test_racing_shippers_write_every_byte_exactly_once(
        self, azurite: Azurite, uri: str
    ) -> None:
        """Two processes' shippers sending the same run at once end with one copy of each record."""
        run_id = log_local_run(steps=600)
        parts = batches(run_id, 20)
        errors: list[BaseException] = []

        def ship_all(target: AzureBlobBackend) -> None:
            try:
                for part in parts:
                    target.ship(part)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=ship_all, args=(backend(uri),)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert stored_journal(azurite, uri, run_id) == local_journal(run_id)

    def test_a_deleted_journal_blob_is_refilled_from_the_local_journal(
        self, azurite: Azurite, uri: str
    ) -> None:
        """A blob shorter than what was acknowledged gets the missing bytes and artifacts again."""
        run_id = log_local_run()
        parts = batches(run_id, 40)
        target = backend(uri)
        for part in parts[:-1]:
            target.ship(part)
        container = container_of(azurite, uri)
        for blob in container.list_blobs(name_starts_with=f"runs/{run_id}/"):
            container.delete_blob(blob.name)
        backend(uri).ship(parts[-1])
        assert stored_journal(azurite, uri, run_id) == local_journal(run_id)
        assert autolog.get_run(run_id, backend=uri).artifacts == ["notes.txt"]
        notes = container.get_blob_client(f"runs/{run_id}/artifacts/notes.txt")
        assert notes.download_blob().readall() == b"notes\n"

    def test_a_large_artifact_goes_up_in_parallel_blocks_once_with_its_sha256(
        self, azurite: Azurite, uri: str
    ) -> None:
        """A 20 MB file is committed from several blocks, sha256 in metadata, not re-sent."""
        data = os.urandom(20 * 1024 * 1024)
        run_id = log_local_run(steps=10, artifact=data)
        [part] = batches(run_id, 1000)
        backend(uri).ship(part)
        blob = container_of(azurite, uri).get_blob_client(f"runs/{run_id}/artifacts/notes.txt")
        properties = blob.get_blob_properties()
        committed, _ = blob.get_block_list("committed")
        assert properties.size == len(data) and len(committed) == 3
        expected = read_journal(Path("runs") / run_id / "journal.jsonl").records
        [record] = [r[1] for r in expected if r[0] == "artifact"]
        assert properties.metadata[SHA256_METADATA] == record["sha256"]
        backend(uri).ship(part)  # sent again: the stored blob is recognised
        assert blob.get_blob_properties().etag == properties.etag

    def test_an_artifact_changed_after_logging_is_not_uploaded(
        self, azurite: Azurite, uri: str
    ) -> None:
        """A file whose bytes no longer match the journal's sha256 is skipped with a warning."""
        run_id = log_local_run(steps=10)
        (Path("runs") / run_id / "artifacts" / "notes.txt").write_text("changed afterwards")
        [part] = batches(run_id, 1000)
        with pytest.warns(AutologWarning, match="'notes.txt' .* was not copied .* sha256"):
            backend(uri).ship(part)
        container = container_of(azurite, uri)
        assert not container.get_blob_client(f"runs/{run_id}/artifacts/notes.txt").exists()
        assert stored_journal(azurite, uri, run_id) == local_journal(run_id)


class TestReading:
    def test_search_get_run_and_history_read_the_container(self, uri: str) -> None:
        """search_runs with a filter, get_run and get_metric_history read the blob store alone."""
        kept = log_local_run(steps=100)
        other = log_local_run(steps=5)
        target = backend(uri)
        for run_id in (kept, other):
            for part in batches(run_id, 30):
                target.ship(part)
        runs = autolog.search_runs(experiment="azure", backend=uri, filter="metrics.loss < 0.05")
        assert [run.id for run in runs] == [kept]
        assert len(autolog.search_runs(backend=uri)) == 2
        run = autolog.get_run(kept, backend=uri)
        assert run.params == {"lr": "0.1", "layers": "[64, 32]"}
        assert run.status == "FINISHED" and run.artifacts == ["notes.txt"]
        history = autolog.get_metric_history(kept, "loss", backend=uri)
        assert [p.step for p in history] == list(range(100))
        with pytest.raises(RunNotFoundError, match=re.escape(uri)):
            autolog.get_run("0" * 32, backend=uri)

    def test_runs_ls_lists_the_container(self, azurite: Azurite, uri: str, tmp_path: Path) -> None:
        """autolog runs ls --backend wasbs://... shows the runs stored there."""
        run_id = log_local_run(steps=20)
        for part in batches(run_id, 100):
            backend(uri).ship(part)
        done = autolog_cli(tmp_path, azurite.env(), "runs", "ls", "--backend", uri)
        assert done.returncode == 0, done.stderr
        assert run_id[:12] in done.stdout and "FINISHED" in done.stdout

    def test_load_model_from_the_container_returns_the_same_model(self, uri: str) -> None:
        """A model logged with fan-out loads back from the container alone, checked file by file."""
        autolog.autolog(backend=["./runs", uri])
        with autolog.start_run(name="model") as run:
            autolog.log_model({"weights": [0.25, -1.5], "bias": 3.0})
        assert autolog.flush(timeout=30)
        assert autolog.load_model(run.id, backend=uri) == {"weights": [0.25, -1.5], "bias": 3.0}

    def test_a_model_damaged_in_storage_is_refused_not_loaded(
        self, azurite: Azurite, uri: str
    ) -> None:
        """Bytes changed in the container fail the sha256 check on download."""
        autolog.autolog(backend=["./runs", uri])
        with autolog.start_run(name="model") as run:
            autolog.log_model({"weights": [1.0]})
        assert autolog.flush(timeout=30)
        blob = container_of(azurite, uri).get_blob_client(
            f"runs/{run.id}/artifacts/model/model.pkl"
        )
        metadata = blob.get_blob_properties().metadata
        blob.upload_blob(b"not the model", overwrite=True, metadata=metadata)
        with pytest.raises(ArtifactChecksumError, match="does not match the sha256"):
            autolog.load_model(run.id, backend=uri)

    def test_a_container_copied_to_a_folder_reads_as_a_local_store(
        self, azurite: Azurite, uri: str, tmp_path: Path
    ) -> None:
        """The blob layout under the prefix is the local store's: a plain copy of it reads back."""
        run_id = log_local_run(steps=50)
        for part in batches(run_id, 20):
            backend(uri).ship(part)
        copy = tmp_path / "copy"
        container = container_of(azurite, uri)
        for blob in container.list_blobs(name_starts_with="runs/"):
            target = copy / blob.name.removeprefix("runs/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(container.download_blob(blob.name).readall())
        assert autolog.get_run(run_id, backend=str(copy)) == autolog.get_run(run_id, backend=uri)
        assert (copy / run_id / "artifacts" / "notes.txt").read_bytes() == b"notes\n"

    def test_blob_artifact_store_serves_what_a_tracking_server_needs(
        self, uri: str, tmp_path: Path
    ) -> None:
        """Streamed writes appear whole at commit; list, open, get, walk and delete by path."""
        store = BlobArtifactStore.from_uri(uri)
        store.ensure_container()
        upload = store.begin_write("exp1/run1/model/model.pkl")
        for piece in (b"pic", b"kle"):
            upload.write(piece)
        assert not store.exists("exp1/run1/model/model.pkl")  # nothing visible before commit
        upload.commit()
        abandoned = store.begin_write("exp1/run1/half.bin")
        abandoned.write(b"x")
        abandoned.abort()
        source = tmp_path / "metrics.csv"
        source.write_text("a,b\n")
        store.put_file("exp1/run1/metrics.csv", source)
        assert [(e.name, e.is_dir, e.size) for e in store.list("exp1/run1")] == [
            ("model", True, None),
            ("metrics.csv", False, 4),
        ]
        assert [e.path for e in store.walk("exp1")] == [
            "exp1/run1/metrics.csv",
            "exp1/run1/model/model.pkl",
        ]
        assert store.open("exp1/run1/model/model.pkl").read() == b"pickle"
        with pytest.raises(FileNotFoundError):
            store.open("exp1/run1/model")
        assert store.get_file("exp1/run1/metrics.csv", tmp_path / "back.csv").read_text() == "a,b\n"
        store.delete("exp1/run1/model")
        assert [e.name for e in store.list("exp1/run1")] == ["metrics.csv"]
        with pytest.raises(ValueError, match="'..'"):
            store.put_bytes("../escape", b"x")

    def test_a_streamed_upload_is_cut_into_blocks_and_reads_back_whole(self, uri: str) -> None:
        """Chunks of any size become fixed-size blocks, committed in order, sha256 in metadata."""
        store = BlobArtifactStore.from_uri(uri)
        store.ensure_container()
        small_blocks = BlobArtifactStore(store.container, store.prefix, block_size=1024)
        data = os.urandom(5000)
        upload = small_blocks.begin_write("stream.bin")
        for start in range(0, len(data), 300):
            upload.write(data[start : start + 300])
        digest = upload.commit()
        blob = store.blob("stream.bin")
        committed, _ = blob.get_block_list("committed")
        assert len(committed) == 5
        assert blob.get_blob_properties().metadata[SHA256_METADATA] == digest
        assert store.open("stream.bin").read() == data


TRAINING = """
    import logging, sys, time
    if "--block-azure-identity" in sys.argv:
        sys.modules["azure.identity"] = None  # exactly what Python sees when it is not installed
    logging.basicConfig(level=logging.DEBUG)  # the SDK's own request logs must not leak either
    import autolog
    started = time.perf_counter()
    autolog.autolog(backend=["./runs", sys.argv[1]], exit_timeout=1)
    print(f"autolog() took {time.perf_counter() - started:.2f} s", file=sys.stderr, flush=True)
    with autolog.start_run(name="training") as run:
        run.log_params({"lr": 0.1})
        for step in range(50):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
    print("result", sum(range(10)))
"""

CLEAR_ERROR = "Training goes on: records wait in"


def seconds_in_autolog(stderr: str) -> float:
    line = next(line for line in stderr.splitlines() if line.startswith("autolog() took"))
    return float(line.split()[2])


class TestCredentials:
    @pytest.mark.parametrize(
        ("wrong_key", "problem"),
        [
            (base64.b64encode(os.urandom(64)).decode(), "refused the credential from"),
            ("this-is-not-a-base64-key!", "is not usable"),
        ],
        ids=["refused", "malformed"],
    )
    def test_a_wrong_key_warns_once_at_autolog_and_the_key_appears_nowhere(
        self, azurite: Azurite, tmp_path: Path, wrong_key: str, problem: str
    ) -> None:
        """A wrong key: one clear warning from autolog(), training unchanged, key never shown."""
        uri = azurite.uri(unique_container())
        env = {"AZURE_STORAGE_KEY": wrong_key, "AZURE_STORAGE_BLOB_ENDPOINT": azurite.endpoint}
        done = run_script(TRAINING, tmp_path, env, uri)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout == "result 45\n"
        assert done.stderr.count(CLEAR_ERROR) == 1
        warning = next(line for line in done.stderr.splitlines() if CLEAR_ERROR in line)
        assert problem in warning and "AZURE_STORAGE_KEY" in warning
        for variable in (
            "AZURE_STORAGE_CONNECTION_STRING",
            "AZURE_STORAGE_ACCESS_KEY",
            "AZURE_STORAGE_SAS_TOKEN",
        ):
            assert variable in warning
        assert done.stderr.index(CLEAR_ERROR) < done.stderr.index("autolog() took")
        assert "autolog sync" in done.stderr  # the exit message: what is unsent, how to send it
        journals = b"".join(p.read_bytes() for p in (tmp_path / "runs").rglob("*.json*"))
        for text in (done.stdout, done.stderr, journals.decode()):
            assert wrong_key not in text
            assert wrong_key[:20] not in text
        synced = autolog_cli(
            tmp_path,
            {**env, "AZURE_STORAGE_KEY": KEY},
            "sync",
            "--dir",
            "runs",
            "--backend",
            uri,
        )
        assert synced.returncode == 0, synced.stderr
        assert KEY not in synced.stdout + synced.stderr
        [run_id] = [p.name for p in (tmp_path / "runs").iterdir()]
        assert stored_journal(azurite, uri, run_id) == local_journal(run_id, tmp_path / "runs")

    def test_no_credential_without_azure_identity_warns_naming_the_variables(
        self, azurite: Azurite, tmp_path: Path
    ) -> None:
        """With nothing set and no azure-identity, autolog() says which variables to set."""
        done = run_script(TRAINING, tmp_path, {}, azurite.uri("nothing"), "--block-azure-identity")
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout == "result 45\n"
        assert done.stderr.count(CLEAR_ERROR) == 1
        assert "no credential for wasbs://nothing@" in done.stderr
        assert "AZURE_STORAGE_CONNECTION_STRING" in done.stderr
        assert "install azure-identity" in done.stderr

    def test_default_azure_credential_is_tried_when_azure_identity_is_installed(
        self, azurite: Azurite, tmp_path: Path
    ) -> None:
        """With azure-identity and no variables, an identity is looked for, and its absence said."""
        try:
            import azure.identity  # noqa: F401
        except ImportError:
            pytest.fail("azure-identity is not installed; the dev extra must have it for this test")

        done = run_script(TRAINING, tmp_path, {}, azurite.uri("identity"))
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stderr.count(CLEAR_ERROR) == 1
        assert "DefaultAzureCredential found no usable Azure identity" in done.stderr

    @pytest.mark.parametrize("variable", ["AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN"])
    def test_each_credential_variable_ships_without_azure_identity(
        self, azurite: Azurite, tmp_path: Path, variable: str
    ) -> None:
        """An account key or a SAS token (with the endpoint override) delivers the run, quietly."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        container = unique_container()
        blob_service(azurite).create_container(container)
        secret = KEY
        if variable == "AZURE_STORAGE_SAS_TOKEN":
            secret = generate_container_sas(
                ACCOUNT,
                container,
                account_key=KEY,
                permission=ContainerSasPermissions(read=True, write=True, create=True, list=True),
                expiry=datetime.now(timezone.utc) + timedelta(hours=1),
            )
        env = {variable: secret, "AZURE_STORAGE_BLOB_ENDPOINT": azurite.endpoint}
        uri = azurite.uri(container)
        done = run_script(
            TRAINING.replace("exit_timeout=1", "exit_timeout=30"),
            tmp_path,
            env,
            uri,
            "--block-azure-identity",
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "autolog cannot" not in done.stderr and "not yet sent" not in done.stderr
        assert secret not in done.stdout + done.stderr
        [run_id] = [p.name for p in (tmp_path / "runs").iterdir()]
        assert stored_journal(azurite, uri, run_id) == local_journal(run_id, tmp_path / "runs")

    def test_an_endpoint_that_never_answers_does_not_hold_autolog_or_training(
        self, tmp_path: Path
    ) -> None:
        """A service that accepts connections and never replies costs autolog() about a second."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}/{ACCOUNT}"
            env = {"AZURE_STORAGE_KEY": KEY, "AZURE_STORAGE_BLOB_ENDPOINT": endpoint}
            started = time.monotonic()
            done = run_script(
                TRAINING, tmp_path, env, f"wasbs://silent@{ACCOUNT}.blob.core.windows.net/runs"
            )
            assert time.monotonic() - started < 30
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout == "result 45\n"
        assert seconds_in_autolog(done.stderr) < 3
        assert "not yet sent" in done.stderr


OUTAGE = """
    import pathlib, sys, time, autolog
    autolog.autolog(backend=["./runs", sys.argv[1]], exit_timeout=2)
    with autolog.start_run(name="outage") as run:
        print(run.id, flush=True)
        for step in range(100):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        assert autolog.flush(timeout=30)
        print("shipped", flush=True)
        while not pathlib.Path("azurite-stopped").exists():
            time.sleep(0.05)
        for step in range(100, 300):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        pathlib.Path("weights.bin").write_bytes(bytes(range(256)) * 40_000)
        run.log_artifact("weights.bin", "model-files/weights.bin")
        run.log_model({"weights": [1.0, 2.0]})
    print("trained", flush=True)
"""


class TestAzuriteStopped:
    def test_training_finishes_and_sync_delivers_every_record_once(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Azurite stopped mid-run: training ends; after a restart sync sends the rest once."""
        server = Azurite(tmp_path / "azurite").start()
        try:
            uri = server.uri(unique_container())
            work = tmp_path / "work"
            work.mkdir()
            training = subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(OUTAGE), uri],
                cwd=work,
                env={**clean_azure_environment(), **server.env()},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            run_id = training.stdout.readline().strip()
            assert training.stdout.readline().strip() == "shipped"
            shipped_before = len(stored_journal(server, uri, run_id))
            server.stop()
            (work / "azurite-stopped").touch()
            stdout, stderr = training.communicate(timeout=60)
            assert training.returncode == 0, stderr[-3000:]
            assert stdout == "trained\n"
            assert "not yet sent" in stderr and "autolog sync" in stderr
            server.start()
            assert len(stored_journal(server, uri, run_id)) == shipped_before > 0
            for expected in (f"sent to {uri}", "0 record(s) of 0 run(s) sent"):
                synced = autolog_cli(work, server.env(), "sync", "--dir", "runs", "--backend", uri)
                assert synced.returncode == 0, synced.stderr
                assert expected in synced.stderr
            assert stored_journal(server, uri, run_id) == local_journal(run_id, work / "runs")
            for variable, value in server.env().items():
                monkeypatch.setenv(variable, value)
            history = autolog.get_metric_history(run_id, "loss", backend=uri)
            assert [p.step for p in history] == list(range(300))
            assert autolog.load_model(run_id, backend=uri) == {"weights": [1.0, 2.0]}
            assert "model-files/weights.bin" in autolog.get_run(run_id, backend=uri).artifacts
        finally:
            server.stop()


ARIMA = """
    import json, sys, autolog
    autolog.autolog(backend=["./runs", sys.argv[1]])
    import numpy as np
    from statsmodels.tsa.arima.model import ARIMA
    series = np.cumsum(np.random.default_rng(0).normal(size=120))
    result = ARIMA(series, order=(1, 1, 1)).fit()
    print(json.dumps(result.forecast(5).tolist()))
    assert autolog.flush(timeout=60)
"""

KERAS_FIT = """
    import os
    os.environ["KERAS_BACKEND"] = "torch"
    import json, sys, autolog
    autolog.autolog(backend=["./runs", sys.argv[1]])
    import keras, numpy as np
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=3, batch_size=16, verbose=0)
    print(json.dumps(model.predict(x[:5], verbose=0).tolist()))
    assert autolog.flush(timeout=60)
"""

KERAS_LOAD = """
    import os
    os.environ["KERAS_BACKEND"] = "torch"
    import json, sys, autolog
    import numpy as np
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model = autolog.load_model(sys.argv[2], backend=sys.argv[1])
    print(json.dumps(model.predict(x[:5], verbose=0).tolist()))
"""


def fitted_into_the_container(
    script: str, azurite: Azurite, uri: str, tmp_path: Path
) -> tuple[autolog.RunRecord, subprocess.CompletedProcess[str]]:
    """Run ``script``; its one run with a model, whose container journal is the local one."""
    done = run_script(script, tmp_path, azurite.env(), uri)
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = [run for run in autolog.search_runs(backend=uri) if run.model is not None]
    assert stored_journal(azurite, uri, run.id) == local_journal(run.id, tmp_path / "runs")
    return run, done


class TestRealFits:
    def test_an_arima_fit_lands_in_the_container_and_forecasts_identically(
        self, azurite: Azurite, uri: str, tmp_path: Path
    ) -> None:
        """An autologged ARIMA fit: journal and model in the container, the same forecast."""
        run, done = fitted_into_the_container(ARIMA, azurite, uri, tmp_path)
        assert run.params and run.metrics
        loaded = autolog.load_model(run.id, backend=uri)
        assert loaded.forecast(5).tolist() == json.loads(done.stdout)

    def test_a_keras_fit_lands_in_the_container_and_predicts_identically(
        self, azurite: Azurite, uri: str, tmp_path: Path
    ) -> None:
        """An autologged Keras fit: epoch losses and model in the container, same predictions."""
        run, fitted = fitted_into_the_container(KERAS_FIT, azurite, uri, tmp_path)
        history = autolog.get_metric_history(run.id, "loss", backend=uri)
        assert [p.step for p in history] == [0, 1, 2]
        loaded = run_script(KERAS_LOAD, tmp_path, azurite.env(), uri, run.id)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        assert json.loads(loaded.stdout) == json.loads(fitted.stdout)
