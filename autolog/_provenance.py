"""Built-in plugin: tag every run with where it came from.

Script and arguments (secrets redacted), git commit and dirty flag, Python and
the versions of the frameworks autolog has patched, host and user. Everything
that costs more than a dictionary lookup (git, above all) is computed once per
process, so a sweep of thousands of 2 ms fits does not pay it each time.
"""

from __future__ import annotations

import functools
import getpass
import os
import re
import sys
from pathlib import Path

from ._validation import REDACTED, is_secret_key, strip_credentials
from .hookspecs import hookimpl

_SECRET_FLAG = re.compile(r"^--?(?P<name>[A-Za-z0-9_.-]+)(?P<eq>=)?")


@hookimpl
def autolog_run_started(run) -> None:
    from ._integrations import active_versions

    tags = dict(_static_tags())
    tags.update({f"autolog.version.{name}": version for name, version in active_versions().items()})
    run.set_tags(tags)


@functools.lru_cache(maxsize=1)
def _static_tags() -> dict[str, str]:
    import platform
    import socket

    tags = {
        "autolog.source.script": _script(),
        "autolog.source.args": "" if _in_kernel() else " ".join(redact_argv(sys.argv[1:])),
        "autolog.python.version": platform.python_version(),
        "autolog.host": socket.gethostname(),
        "autolog.user": _user(),
    }
    tags.update(_git_tags(Path(tags["autolog.source.script"]).parent))
    return {k: v for k, v in tags.items() if v}


def redact_argv(argv: list[str]) -> list[str]:
    """Replace the values of secret-looking options (``--token X``, ``--password=X``)."""
    redacted: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            redacted.append(REDACTED)
            hide_next = False
            continue
        flag = _SECRET_FLAG.match(arg)
        if flag and is_secret_key(flag["name"]):
            if flag["eq"]:
                redacted.append(arg[: flag.end()] + REDACTED)
            else:
                redacted.append(arg)
                hide_next = True
            continue
        if "=" in arg and not arg.startswith("-") and is_secret_key(arg.split("=", 1)[0]):
            redacted.append(arg.split("=", 1)[0] + "=" + REDACTED)
            continue
        redacted.append(strip_credentials(arg))
    return redacted


def _script() -> str:
    from ._notebook import notebook_path

    notebook = notebook_path()
    if notebook is not None:
        return notebook  # not ipykernel_launcher.py
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "")
    if not path or path == "-c":
        return "<interactive>" if not path else "<command>"
    return os.path.abspath(path)


def _in_kernel() -> bool:
    from ._notebook import shell

    return shell() is not None  # a kernel's argv is its connection file: nothing to record


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def _git_tags(folder: Path) -> dict[str, str]:
    import subprocess

    if not folder.is_dir():
        folder = Path.cwd()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return {}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    tags = {"autolog.git.commit": commit.stdout.strip()}
    if status.returncode == 0:
        tags["autolog.git.dirty"] = "true" if status.stdout.strip() else "false"
    return tags
