"""Upload throughput of a 100 MB model to Azurite: autolog's blob backend vs a plain upload.

    python -m bench.bench_azure [--repeats 7] [--size-mb 100]

Starts its own Azurite (``azurite-blob`` on PATH: ``npm install -g azurite``)
in a temporary folder, over https as ``wasbs://`` is (a throw-away certificate
made with ``openssl``; ``--http`` for plain http, where autolog adds an MD5 per
block that TLS otherwise makes redundant), and stops it at the end. Each repeat measures, in
alternating order so that machine noise hits both alike:

(a) autolog: a run whose model file (``model/weights.bin``, random bytes) was
    logged to a local store is shipped by the real shipper to a ``wasbs://``
    backend: parallel blocks, the sha256 of the bytes sent checked against the
    journal before the commit, then the journal appended;
(b) plain: ``BlobClient.upload_blob(data, max_concurrency=N)`` of the same
    bytes, with the same concurrency, no checks.

Prints medians with the interquartile range and the throughput ratio (a)/(b);
the target is at least 0.9. ``measure_azure_upload(repeats)`` returns the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.stats import spread

ACCOUNT = "devstoreaccount1"
#: Azurite's well-known development key, public in its documentation.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def start_azurite(folder: Path, tls: bool) -> tuple[subprocess.Popen, str]:
    """Start azurite-blob on a free port; return the process and the account's endpoint.

    With ``tls``, Azurite serves https with a throw-away self-signed certificate,
    which this process then trusts (``REQUESTS_CA_BUNDLE``): wasbs:// is https.
    """
    binary = shutil.which("azurite-blob")
    if binary is None:
        raise SystemExit("azurite-blob is not on PATH: npm install -g azurite")
    folder.mkdir(parents=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = ["--silent", "--skipApiVersionCheck", "--disableTelemetry"]
    context = None
    if tls:
        cert, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        options += ["--cert", str(cert), "--key", str(key)]
        os.environ["REQUESTS_CA_BUNDLE"] = str(cert)
        context = ssl.create_default_context(cafile=str(cert))
    process = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(folder),
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{port}/{ACCOUNT}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}?comp=list", timeout=1, context=context).close()
        except urllib.error.HTTPError:
            return process, endpoint
        except OSError:
            time.sleep(0.1)
            continue
        return process, endpoint
    process.terminate()
    raise SystemExit("azurite-blob did not start")


def measure_azure_upload(repeats: int = 7, size_mb: int = 100, tls: bool = True) -> dict:
    """Seconds per upload of ``size_mb`` MB through autolog and through plain upload_blob."""
    from azure.storage.blob import BlobServiceClient

    import autolog
    from autolog._config import resolve
    from autolog._shipper import Shipper
    from autolog._store import LocalStore
    from autolog.backend import backend_for
    from autolog.backends.azure_artifacts import MAX_CONCURRENCY

    with tempfile.TemporaryDirectory(prefix="autolog-bench-azure-") as tmp:
        folder = Path(tmp)
        process, endpoint = start_azurite(folder / "azurite", tls)
        connection_string = (
            f"DefaultEndpointsProtocol={endpoint.split(':')[0]};AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={endpoint};"
        )
        os.environ["AZURE_STORAGE_CONNECTION_STRING"] = connection_string
        try:
            service = BlobServiceClient.from_connection_string(connection_string)
            container = service.get_container_client("bench")
            container.create_container()
            data = os.urandom(size_mb * 1024 * 1024)
            model = folder / "weights.bin"
            model.write_bytes(data)
            store = folder / "runs"
            autolog.autolog(backend=str(store), silent=True)
            uri = f"wasbs://bench@{ACCOUNT}.blob.core.windows.net/runs"
            backend = backend_for(uri, resolve({"dir": str(store)}))
            ours: list[float] = []
            plain: list[float] = []

            def ship_once() -> None:
                with autolog.start_run(name="bench") as run:
                    run.log_artifact(model, "model/weights.bin")
                started = time.perf_counter()
                Shipper(backend, LocalStore(store)).ship_run(run.id)
                ours.append(time.perf_counter() - started)
                for blob in container.list_blobs(name_starts_with=f"runs/{run.id}/"):
                    container.delete_blob(blob.name)
                shutil.rmtree(store / run.id)

            def upload_once() -> None:
                blob = container.get_blob_client("plain/weights.bin")
                started = time.perf_counter()
                blob.upload_blob(data, overwrite=True, max_concurrency=MAX_CONCURRENCY)
                plain.append(time.perf_counter() - started)
                blob.delete_blob()

            upload_once()  # warm both paths up: connections, imports
            ship_once()
            ours.clear()
            plain.clear()
            for repeat in range(repeats):
                for measure in (ship_once, upload_once) if repeat % 2 else (upload_once, ship_once):
                    measure()
            backend.close()
            service.close()
        finally:
            process.terminate()
            process.wait(15)
            os.environ.pop("AZURE_STORAGE_CONNECTION_STRING", None)
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
    ours_median, ours_q1, ours_q3 = spread(ours)
    plain_median, plain_q1, plain_q3 = spread(plain)
    return {
        "size_mb": size_mb,
        "repeats": repeats,
        "max_concurrency": MAX_CONCURRENCY,
        "transport": "https" if tls else "http",
        "autolog_s": ours_median,
        "autolog_iqr": (ours_q1, ours_q3),
        "plain_s": plain_median,
        "plain_iqr": (plain_q1, plain_q3),
        "autolog_mb_s": size_mb / ours_median,
        "plain_mb_s": size_mb / plain_median,
        "ratio": plain_median / ours_median,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument(
        "--http", action="store_true", help="plain http (autolog then adds an MD5 per block)"
    )
    args = parser.parse_args()
    figures = measure_azure_upload(args.repeats, args.size_mb, tls=not args.http)
    print(
        f"{figures['size_mb']} MB to Azurite over {figures['transport']}, "
        f"{figures['repeats']} repeats, max_concurrency={figures['max_concurrency']}\n"
    )
    print("| path | median s | IQR s | MB/s |")
    print("| --- | --- | --- | --- |")
    for name, key in (("autolog backend (ship_run)", "autolog"), ("plain upload_blob", "plain")):
        q1, q3 = figures[f"{key}_iqr"]
        print(
            f"| {name} | {figures[f'{key}_s']:.3f} | {q1:.3f}-{q3:.3f} "
            f"| {figures[f'{key}_mb_s']:.0f} |"
        )
    verdict = "meets" if figures["ratio"] >= 0.9 else "misses"
    print(f"\nthroughput ratio autolog/plain: {figures['ratio']:.2f}x ({verdict} the 0.9x target)")


if __name__ == "__main__":
    main()
