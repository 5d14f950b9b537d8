"""``Trainer`` for PyTorch: one epoch of ``backward()`` and ``optim.step()``, devices, clipping.

``Trainer(jit_compile=True)`` computes each training batch's loss (the model's
forward and ``loss``) through ``torch.compile`` (``CompiledStep``), with CUDA
graphs (``mode="reduce-overhead"``) on a CUDA GPU: its backward pass is compiled
with it. The optimizer's step, validation, and the first training batch of each
fit (which gives lazily shaped layers their shapes) run as in the default loop.
"""

from __future__ import annotations

import os
import shutil
import warnings

import torch

from d2lx import checks
from d2lx import distributed as shared
from d2lx.module import ModuleBase
from d2lx.torch import devices, sgd_update
from d2lx.torch import distributed as ddp
from d2lx.trainer import TrainerBase, first_batch, own_methods


class Trainer(TrainerBase):
    """``Trainer(max_epochs, num_gpus=0, gradient_clip_val=0)``; ``fit(model, data)`` trains."""

    _devices = devices
    # Whether this trainer is on the distributed path (d2lx/torch/distributed.py): it joined the process group
    # and keeps its share of each batch; it steps through DistributedDataParallel where the world has several.
    _ddp = False

    def _set_up_workers(self) -> None:
        """The workers are processes on PyTorch: those of a ``torchrun`` launch (``WORLD_SIZE`` > 1), or this
        one alone under ``strategy="ddp"``. Each uses GPU ``LOCAL_RANK`` when ``num_gpus`` asks for GPUs."""
        if self.devices is not None:
            raise ValueError(
                f"devices={self.devices}: on PyTorch the data-parallel workers are processes, one per device: "
                f"launch the script with torchrun --nproc_per_node {self.devices}"
            )
        world = shared.world_from_env()  # a missing rendezvous variable is named here
        if world is None or (world.world_size == 1 and self.strategy == "auto"):
            if world is None and len(self.gpus) > 1:
                warnings.warn(
                    f"Trainer(num_gpus={self.num_gpus}): PyTorch trains on several GPUs with one process per GPU "
                    f"(DistributedDataParallel): torchrun --nproc_per_node {len(self.gpus)} script.py; this process "
                    f"trains on {self.gpus[0]}.",
                    stacklevel=4,
                )
            if self.strategy == "auto":
                return
        if self.gpus:
            self.gpus = [torch.device("cuda", world.local_rank if world else 0)]
            torch.cuda.set_device(self.gpus[0])  # nccl's device for this process
        world = ddp.join(use_gpu=bool(self.gpus) and self.gpus[0].type == "cuda")
        self._ddp, self.world_size, self.global_rank = True, world.world_size, world.rank

    def _data_parallel(self) -> bool:
        return self._ddp

    def prepare_batch(self, batch):
        if self.gpus:
            batch = [a.to(self.gpus[0]) for a in batch]
        return batch

    def prepare_data(self, data):
        place = getattr(data, "_place", None)  # datasets resident in memory follow the model's device
        if place is not None:
            place(self.gpus[0] if self.gpus else torch.device("cpu"))
        super().prepare_data(data)
        if self._ddp:  # every process draws the same batches and keeps its share of each
            self.train_dataloader = shared.ShardedLoader(self.train_dataloader, self.world_size, self.global_rank)

    def prepare_model(self, model):
        super().prepare_model(model)
        if self.gpus:
            model.to(self.gpus[0])

    def _prepare_state(self, model) -> None:
        self._ddp_step = None
        if self._ddp and ddp.needs_wrapper(self.world_size):  # a world of one trains through the plain step
            # lazily shaped layers get their parameters first: DDP copies rank 0's to every process
            ddp.materialize(model, self.prepare_batch(first_batch(self.train_dataloader, self.val_dataloader)))
            self._ddp_step = ddp.wrap(model, self.gpus[0] if self.gpus else torch.device("cpu"))

    def fit_epoch(self):
        plan = self._epoch_plan()
        self.model.train()
        step = self.__dict__.get("_ddp_step") or self.model.training_step
        for batch in self.train_dataloader:
            self._inspect_batch(batch, train=True)
            batch = self.prepare_batch(batch)
            if plan is None or not plan.step(self, batch):
                self._update(step(batch))
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.eval()
        for batch in self.val_dataloader:
            self._inspect_batch(batch, train=False)
            with torch.no_grad():
                self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def _update(self, loss) -> None:
        """One update of the parameters from ``loss``, the batch's (``training_step`` plotted it). A plain
        ``torch.optim.SGD`` (the book's) is stepped by ``sgd_update``: the same numbers, less per-step
        Python, which is the time of a small model's step on a GPU."""
        optim = self.optim
        plain = sgd_update.is_plain_sgd(optim)
        if plain:
            sgd_update.zero_grads(optim)
        else:
            optim.zero_grad()
        with torch.no_grad():
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, self.model)
            if not (plain and sgd_update.plain_sgd_update(optim)):
                optim.step()

    def _device_reads_block(self) -> bool:
        return bool(self.gpus)  # a loss read on a GPU waits for its step: plots are read late

    def _parameter_arrays(self) -> list:
        return list(self.model.parameters())

    def clip_gradients(self, grad_clip_val, model):
        """Rescale all gradients together so that their joint norm is at most ``grad_clip_val`` (the book's
        method: ``fit_epoch`` calls it, through the attribute, when ``gradient_clip_val > 0``)."""
        grad_clipping(model, grad_clip_val)

    # --- the compiled path (``jit_compile``) -------------------------------------------------
    def _compiled_path_needs(self) -> list:
        needs = [
            (self.model, "training_step", (ModuleBase.training_step,)),
        ]
        if self.gradient_clip_val > 0:
            needs.append((self, "clip_gradients", _OWN_TRAINER["clip_gradients"]))
        return needs

    def _compile_plan(self):
        device = self.gpus[0] if self.gpus else torch.device("cpu")
        if device.type == "cpu" and not _cpp_compiler():
            return (
                "torch.compile on the CPU needs a C++ compiler for its inductor backend (g++, clang++ or "
                "$CXX), and none was found"
            )
        try:
            return CompiledStep(device)
        except RuntimeError as error:  # torch.compile refuses this Python or platform
            return f"torch.compile is not available here ({error})"


def grad_clipping(net, theta) -> None:
    """The 2.0 edition's clipping (section 8.5): rescale the gradients of ``net``'s parameters (an
    ``nn.Module``'s, or the ``params`` list of a scratch model) in place, together, so that their joint
    norm is at most ``theta``. As the book: ``g * theta / norm`` where ``norm > theta``, with no epsilon
    (``clip_grad_norm_`` adds 1e-6 to the norm); the scale is a tensor, so nothing waits for the device."""
    theta = checks.positive_number("theta", theta)
    params = net.parameters() if isinstance(net, torch.nn.Module) else net.params
    grads = [p.grad for p in params if p.requires_grad and p.grad is not None]
    if not grads:
        return
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
    scale = (theta / norm).clamp(max=1.0)  # norm 0: inf, clamped to 1
    torch._foreach_mul_(grads, scale.to(grads[0].dtype))


# d2lx's own methods, read at import, before a notebook cell can replace one (``d2lx.trainer.own_methods``)
_OWN_TRAINER = own_methods(Trainer, "clip_gradients")


def _cpp_compiler() -> str | None:
    """A C++ compiler on the PATH (what inductor compiles its CPU kernels with), or None."""
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        found = name and shutil.which(name)
        if found:
            return found
    return None


def _loss(model, *batch) -> torch.Tensor:
    """The loss ``training_step`` computes on ``batch``, without the plot: what ``torch.compile`` compiles."""
    return model.loss(model(*batch[:-1]), batch[-1])


class CompiledStep:
    """``Trainer(jit_compile=True)``'s training step on PyTorch, for one fit: the batch's loss through
    ``torch.compile`` (``_loss``: forward and loss, and so the backward pass), with CUDA graphs
    (``mode="reduce-overhead"``) on a CUDA device, inductor's default elsewhere; then the plot and the
    update of the default loop (``Trainer._update``). The optimizer's step stays outside: torch.compile
    would guard on the optimizer object and compile it again for every fit, and it is a few fused
    kernels already. The fit's first batch runs the default step: it gives lazily shaped layers
    (``LazyLinear``) their parameters before anything is traced."""

    def __init__(self, device: torch.device):
        self.mode = "reduce-overhead" if device.type == "cuda" else None
        self.loss = torch.compile(_loss, mode=self.mode)
        self.batches = 0
        self.failed = False

    def step(self, trainer: Trainer, batch) -> bool:
        """One step on ``batch`` with the compiled loss; False when the default step is to run it instead."""
        self.batches += 1
        if self.batches == 1 or self.failed:
            return False
        try:
            loss = self.loss(trainer.model, *batch)
        except Exception as error:  # any failure to compile: the default loop trains, or raises
            self.failed = True
            trainer._compile_failed("torch.compile failed", error)
            return False
        # CUDA graphs hand back the same output buffer at every replay, and on a GPU the board reads its points
        # a few calls late: the plot keeps a copy (one scalar), or it would read a later batch's loss
        plotted = loss.detach().clone() if self.mode == "reduce-overhead" else loss
        trainer.model.plot("loss", plotted, train=True)
        trainer._update(loss)
        return True
