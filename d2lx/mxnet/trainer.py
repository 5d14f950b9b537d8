"""``Trainer`` for MXNet: one epoch under ``autograd.record()``, contexts, clipping.

MXNet has no compiled path: ``Trainer(jit_compile=True)`` warns and trains on the
default loop (see ``Trainer._compile_plan``).
"""

from __future__ import annotations

import warnings

import mxnet as mx
from mxnet import autograd, gluon, npx
from mxnet import np as mnp

from d2lx import checks, distributed
from d2lx.mxnet import devices
from d2lx.trainer import TrainerBase


class Trainer(TrainerBase):
    """``Trainer(max_epochs, num_gpus=0, gradient_clip_val=0)``; ``fit(model, data)`` trains."""

    _devices = devices

    def _device_reads_block(self) -> bool:
        # MXNet's engine runs operators asynchronously on the CPU too: reading the loss at once makes the
        # host wait for each step before it queues the next (bench/RESULTS.md, "Issue 21": softmax
        # regression, read at once 1.44-1.71x of a hand-written loop in two runs; 1.09x, median of 7, with
        # up to 16 values waiting and the one-operator uint8 conversion)
        return True

    def prepare_batch(self, batch):
        device = self._workers[0] if self._workers is not None else self.gpus[0] if self.gpus else None
        if device is not None:  # validation of data-parallel training runs on the first worker's copy
            batch = [a.as_in_ctx(device) for a in batch]
        return batch

    def prepare_model(self, model):
        super().prepare_model(model)
        ctx = self.gpus[0] if self.gpus else None
        model.initialize_missing(ctx)
        if self._workers is not None:
            if isinstance(model.parameters(), list):
                raise ValueError(
                    f"{type(model).__name__} keeps its parameters as bare arrays (a scratch model): data "
                    "parallelism on MXNet (strategy, devices) needs Gluon parameters, which live on every context"
                )
            gluon.Block.collect_params(model).reset_ctx(self._workers)  # a copy of each parameter per worker
        elif self.gpus:
            gluon.Block.collect_params(model).reset_ctx(ctx)  # not an override returning a list
            model.set_scratch_params_device(ctx)

    # --- data parallelism: split_and_load over the contexts, the kvstore sums the gradients -------------
    def _cpu_devices(self, count: int) -> list:
        return [mx.cpu(i) for i in range(count)]  # MXNet numbers CPU contexts freely: all share the CPU

    def _parallel_step(self, batch) -> None:
        """One data-parallel step: each worker's share of ``batch`` (``split_and_load``, equal shares) through its
        copy of the model; ``gluon.Trainer`` sums the workers' gradients with its kvstore and ``step(k)``
        averages them: the mean over the whole batch, as one worker computes it. The mean of the workers'
        losses is plotted, as ``training_step`` plots the batch's."""
        workers = self._workers
        distributed.share(int(batch[0].shape[0]), len(workers), 0)  # whole shares, else a clear error
        with warnings.catch_warnings():  # MXNet's own split_and_load calls its renamed as_in_context
            warnings.filterwarnings("ignore", "ndarray.as_in_context has been renamed", DeprecationWarning)
            shares = [gluon.utils.split_and_load(a, workers, even_split=True) for a in batch]
        with autograd.record():
            losses = [self.model.loss(self.model(*parts[:-1]), parts[-1]) for parts in zip(*shares)]
        autograd.backward(losses)
        if self.gradient_clip_val > 0:
            self.clip_gradients(self.gradient_clip_val, self.model)
        self.optim.step(len(workers))
        self.model.plot("loss", sum(loss.as_in_ctx(workers[0]) for loss in losses) / len(workers), train=True)

    def fit_epoch(self):
        if self._workers is not None and not isinstance(self.optim, gluon.Trainer):
            raise ValueError(
                "data parallelism on MXNet (strategy, devices) needs a gluon.Trainer from configure_optimizers "
                f"(its kvstore sums the workers' gradients), got {type(self.optim).__name__}"
            )
        for batch in self.train_dataloader:
            self._inspect_batch(batch, train=True)
            if self._workers is not None:
                self._parallel_step(batch)
                self.train_batch_idx += 1
                continue
            with autograd.record():
                loss = self.model.training_step(self.prepare_batch(batch))
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, self.model)
            self.optim.step(1)  # the loss is a mean already: no further division
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        for batch in self.val_dataloader:  # outside autograd.record(): prediction mode
            self._inspect_batch(batch, train=False)
            self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def _compile_plan(self) -> str:
        # Measured on a 2-core CPU: hybridize(static_alloc=True, static_shape=True) of the concise softmax
        # regression's Dense layer gained within the noise, LeNet's Sequential (not a HybridBlock) nothing,
        # and the scratch models (bare arrays) cannot be hybridized.
        return "MXNet has no compiled path (Gluon's hybridize gives the book's models no clear gain)"

    def _parameter_arrays(self) -> list:
        params = self.model.parameters()
        return list(params) if isinstance(params, list) else [p.data() for p in params.values()]

    def _parameter_snapshot(self) -> list:
        """The parameters copied to numpy once a fit (the first batch's, for the divergence guard), after
        every queued operator has run. ``asnumpy`` waits only for pending writes, and MXNet's MKL-DNN
        kernels may change a weight's memory layout while an operator that reads it is still running: a
        test worker once crashed with a segmentation fault inside this copy (CI, a ResNeXt block's
        grouped convolution right after a training step was queued). One wait per fit costs nothing."""
        npx.waitall()
        return super()._parameter_snapshot()

    def clip_gradients(self, grad_clip_val, model):
        """Rescale all gradients together so that their joint norm is at most ``grad_clip_val`` (the book's
        method: ``fit_epoch`` calls it, through the attribute, when ``gradient_clip_val > 0``)."""
        params = model.parameters()  # a scratch model's list of arrays, or Gluon's parameter dict
        _clip(_gradients(params if isinstance(params, list) else params.values()), grad_clip_val)


def _gradients(params) -> list:
    """The gradient arrays of ``params``: arrays with ``attach_grad()``, or Gluon ``Parameter``s."""
    grads = []
    for p in params:
        if isinstance(p, gluon.Parameter):
            if p.grad_req != "null":
                grads.append(p.grad())
        elif p.grad is not None:
            grads.append(p.grad)
    return grads


def _clip(grads: list, theta: float) -> None:
    """Scale ``grads`` in place by ``theta / norm`` where their joint norm exceeds ``theta``.

    The scale, ``min(1, theta / norm)``, stays on the device: reading the norm back to Python made every
    step wait for its backward pass to finish (MXNet runs asynchronously), which cost the transformer
    benchmark about a third of its time. Under the bound the gradients are multiplied by exactly 1.
    """
    if not grads:
        return
    norm = mnp.sqrt(sum((g**2).sum() for g in grads))
    scale = mnp.minimum(theta / norm, 1.0)  # a zero norm gives inf, so 1
    for g in grads:
        g *= scale


def grad_clipping(net, theta) -> None:
    """The 2.0 edition's clipping (section 8.5): rescale the gradients of ``net``'s parameters (a Gluon
    block's, or the ``params`` list of a scratch model) in place, together, so that their joint norm is at
    most ``theta``."""
    theta = checks.positive_number("theta", theta)
    _clip(_gradients(net.collect_params().values() if isinstance(net, gluon.Block) else net.params), theta)
