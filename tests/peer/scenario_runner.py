"""Run one realistic training scenario in this process and write what user code could observe.

Usage: ``python scenario_runner.py MODULE OUT.json on|off``. ``MODULE`` is
``keras_scenarios`` or ``lightning_scenarios`` (files beside this one); each
name in its ``SCENARIOS`` is a function that trains a tiny model and returns
``(weights, losses)``. They run one after the other, each from the same seeds.
With ``on``, ``autolog.autolog()`` is called first, recording into
``OUT.json``'s folder. The output holds, per scenario, a digest of the final
weights, the losses, the exception (type and message) if one escaped, and a
digest of the global random generators' state after it;
:mod:`tests.peer.test_deep_learning` compares the two sides.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import sys
from pathlib import Path
from typing import Any


def digest(values: Any) -> str:
    """sha256 of arrays' bytes (and of anything else's repr), in order."""
    import numpy as np

    sha = hashlib.sha256()
    for value in values:
        array = np.asarray(value)
        sha.update(array.tobytes() if array.dtype != object else repr(value).encode())
    return sha.hexdigest()


def rng_digest() -> str:
    import numpy as np
    import torch

    state = np.random.get_state()
    return digest(
        [state[1], np.array(state[2:4]), repr(random.getstate()), torch.get_rng_state().numpy()]
    )


def seed() -> None:
    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


def main() -> None:
    module_name, out, side = sys.argv[1:4]
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ["AUTOLOG_TESTING"] = "1"
    import torch

    torch.set_num_threads(1)
    seed()
    folder = Path(out).parent
    if side == "on":
        import autolog

        autolog.autolog(backend=str(folder / "store"))
    spec = importlib.util.spec_from_file_location(
        module_name, Path(__file__).with_name(f"{module_name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    os.chdir(folder)
    results: dict[str, Any] = {}
    store = folder / "store"
    for scenario in module.SCENARIOS:
        seed()
        result: dict[str, Any] = {"exception": None, "weights": None, "losses": None}
        try:
            weights, losses = getattr(module, scenario)()
            result["weights"] = digest(weights)
            result["losses"] = [float(loss) for loss in losses]
        except Exception as exc:
            result["exception"] = f"{type(exc).__name__}: {exc}"
        result["rng"] = rng_digest()
        results[scenario] = result
    runs = list(store.glob("*/journal.jsonl")) if store.is_dir() else []
    size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) if runs else 0
    Path(out).write_text(json.dumps({"scenarios": results, "runs": len(runs), "bytes": size}))


if __name__ == "__main__":
    main()
