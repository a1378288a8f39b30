"""A real Azurite blob service for the tests: started on a free port, stopped at the end.

Azurite is the Azure Storage emulator, found or installed by
:mod:`tests.support.tools`. Tests fail, not skip, when it is missing: the Azure
backend is only tested against a real service.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.support.network import free_port
from tests.support.processes import end_process_group
from tests.support.tools import azurite_command

#: Azurite's well-known development account and key (public, in Azurite's documentation).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

#: Variables that would let a developer's own Azure settings leak into a test.
AZURE_VARIABLES = (
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_ACCOUNT",
    "AZURE_STORAGE_BLOB_ENDPOINT",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
)
#: Limits DefaultAzureCredential to the environment, so no test probes a cloud metadata address.
NO_IDENTITY_PROBES = {"AZURE_TOKEN_CREDENTIALS": "environmentcredential"}


def unique_container() -> str:
    """A fresh container name, so tests sharing one Azurite never see each other's runs."""
    return f"t{uuid.uuid4().hex[:20]}"


class Azurite:
    """One ``azurite-blob`` process serving ``location`` on 127.0.0.1:``port``.

    ``stop()`` and ``start()`` again keep the port and the data folder, which is
    how a test takes the service away in the middle of a run and brings it back.
    """

    def __init__(self, location: Path, port: int | None = None) -> None:
        self.location = location
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def env(self) -> dict[str, str]:
        """Environment variables that point the Azure backend at this Azurite."""
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string, **NO_IDENTITY_PROBES}

    def uri(self, container: str, prefix: str = "runs") -> str:
        """A ``wasbs://`` URI of this account, the form MLflow users have."""
        return f"wasbs://{container}@{ACCOUNT}.blob.core.windows.net/{prefix}"

    def start(self, timeout: float = 30) -> Azurite:
        self.location.mkdir(parents=True, exist_ok=True)
        log = open(self.location.parent / f"azurite-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                *azurite_command(),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--location",
                str(self.location),
                "--silent",
                "--skipApiVersionCheck",
                "--disableTelemetry",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # ended with its whole group: npm's wrapper and node
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"azurite-blob exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"azurite-blob did not answer on port {self.port}")
            time.sleep(0.1)
        return self

    def answers(self) -> bool:
        """True once the service answers HTTP (any status: it refuses anonymous listing)."""
        try:
            urllib.request.urlopen(f"{self.endpoint}?comp=list", timeout=1).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """Stop the service gracefully (it saves its metadata), killing it if it hangs."""
        end_process_group(self.process, grace=15)
        self.process = None


def blob_service(azurite: Azurite):
    """A plain SDK client for the test's own checks of what landed in the container."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(azurite.connection_string)


def clean_azure_environment() -> dict[str, str]:
    """``os.environ`` without any Azure credential, and without identity probes."""
    env = {k: v for k, v in os.environ.items() if k not in AZURE_VARIABLES}
    env.update(NO_IDENTITY_PROBES)
    return env
