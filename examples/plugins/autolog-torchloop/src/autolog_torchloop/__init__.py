"""autolog plugin for plain PyTorch training loops: there is no ``fit`` to patch.

A loop the user writes (``for batch in loader: loss.backward(); opt.step()``)
has no single call that is "the training", so this plugin starts no run of its
own. It logs into the run the user opened, ``autolog.active_run()``, from
PyTorch's own global optimizer-step hook (every optimizer class defines its own
``step``, so patching the base class would miss them) and from the patched
module-level function ``torch.save`` (a wrapper of a module-level function
receives ``instance=None``). Outside a run both do nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import autolog
from autolog.errors import ConfigurationError
from autolog.integration import Integration, autologging_suppressed, guarded, safe_patch, unwrap

MODEL_FILE = "model.pt"
OPTION = "torchloop_every_n_steps"


class TorchLoopIntegration(Integration):
    name = "torchloop"  # autolog(integrations=["torchloop"])
    module = "torch"  # patched when the user imports torch
    supported_versions = "torch>=2.0"
    options = {OPTION: 1}  # autolog(torchloop_every_n_steps=10)

    @classmethod
    def check_options(cls, config: Any) -> None:
        every = config.option(OPTION, 1)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigurationError(
                f"{OPTION} must be a positive whole number of steps, got {every!r}"
            )

    def patch(self, config: Any) -> None:
        import torch
        import wrapt
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self._steps: dict[tuple[int, str], int] = {}  # (optimizer, run) -> steps taken
        self._every = config.option(OPTION, 1)
        self._hook = register_optimizer_step_post_hook(self._after_step)
        wrapt.wrap_function_wrapper(torch, "save", safe_patch(self.name, _record_save))

    def unpatch(self) -> None:
        import torch

        self._hook.remove()
        unwrap(torch, "save")

    @guarded("torchloop")  # a bug here is reported, never raised into the user's loop
    def _after_step(self, optimizer: Any, args: tuple, kwargs: dict) -> None:
        run = autolog.active_run()
        if run is None:
            return  # not inside a run of the user's: nothing to log into
        key = id(optimizer), run.id
        step = self._steps.get(key, 0)
        if step == 0:  # a new run: forget the counts of earlier ones
            self._steps = {k: v for k, v in self._steps.items() if k[1] == run.id}
            group = optimizer.param_groups[0]
            settings = {k: v for k, v in group.items() if k != "params"}
            run.log_params({"optimizer": type(optimizer).__name__, "optim": settings})
        self._steps[key] = step + 1
        lr = optimizer.param_groups[0].get("lr")
        if step % self._every == 0 and lr is not None:
            run.log_metric("lr", float(lr), step=step)


def _record_save(instance: None, args: tuple, kwargs: dict) -> Any:
    """After ``torch.save(obj, f)`` inside a run, the file ``f`` becomes an artifact.

    ``instance`` is None: ``torch.save`` is a module-level function. Calls made
    by autolog itself (the save hook below) run under the recording guard and
    never reach this hook.
    """
    run = autolog.active_run()
    target = args[1] if len(args) > 1 else kwargs.get("f")
    if run is None or not isinstance(target, (str, os.PathLike)):
        return
    yield
    run.log_artifact(target)


@autolog.hookimpl
def autolog_register_integrations(register: Any) -> None:
    register(TorchLoopIntegration)


@autolog.hookimpl
def autolog_save_model(model: Any, path: Path, config: Any) -> dict[str, Any] | None:
    torch = sys.modules.get("torch")  # not imported: the model cannot be a torch module
    if torch is None or not isinstance(model, torch.nn.Module):
        return None
    with autologging_suppressed():  # the core already guards save hooks; this is explicit
        torch.save(model, path / MODEL_FILE)
    return {"flavor": "torch", "framework_version": torch.__version__}


@autolog.hookimpl
def autolog_load_model(path: Path, manifest: dict[str, Any]) -> Any:
    if manifest.get("flavor") != "torch":
        return None
    import torch

    return torch.load(path / MODEL_FILE, map_location="cpu", weights_only=False)
