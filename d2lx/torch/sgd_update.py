"""``torch.optim.SGD``'s update, taken by the trainer itself where the optimizer is a plain one.

For the book's small models the time of a step on a GPU is the host's Python, and
``torch.optim.SGD``'s ``zero_grad`` and ``step`` spend most of theirs outside the
arithmetic: a profiler span around each, hook dictionaries, Dynamo's guard, grouping
the tensors by device (a quarter of a softmax-regression step at batch 16 on the CPU,
bench/RESULTS.md). Where the optimizer is exactly ``torch.optim.SGD``, with no momentum,
no hooks, nothing wrapping its ``step`` (an LR scheduler does), ``plain_sgd_update`` takes
the same update in two calls: ``param += -lr * (grad + weight_decay * param)``, through
the same ``torch._foreach_add`` kernels that SGD uses on a GPU (on the CPU they add tensor
by tensor, as SGD does there), so the parameters are bit for bit SGD's (tested). Anything
else (Adam, a momentum term, a learner's subclass or hook, a sparse gradient) steps
through the optimizer itself.
"""

from __future__ import annotations

import inspect

import torch
from torch.optim import optimizer as _optimizer_module

_SGD_STEP = inspect.unwrap(torch.optim.SGD.step)  # torch wraps it in a profiler hook at the first optimizer
_ZERO_GRAD = inspect.unwrap(torch.optim.Optimizer.zero_grad)
_seen_steps: dict = {}  # step function -> whether it unwraps to SGD's own (unwrapping costs microseconds)


def _is_own(function, original) -> bool:
    verdict = _seen_steps.get(function)
    if verdict is None:
        verdict = _seen_steps[function] = inspect.unwrap(function) is original
    return verdict


def is_plain_sgd(optim) -> bool:
    """Whether ``optim`` is a ``torch.optim.SGD`` whose update ``plain_sgd_update`` may take: no momentum,
    nesterov, maximize, differentiable or fused update, float learning rates and weight decays, no step
    hooks (its own or global) and ``step``/``zero_grad`` neither wrapped on the instance (an LR scheduler
    wraps ``step`` so) nor replaced on the class. Checked at every step: a cell may change any of them."""
    cls = type(optim)
    if cls is not torch.optim.SGD or "step" in optim.__dict__ or "zero_grad" in optim.__dict__:
        return False
    if not (_is_own(cls.step, _SGD_STEP) and _is_own(cls.zero_grad, _ZERO_GRAD)):
        return False
    if optim._optimizer_step_pre_hooks or optim._optimizer_step_post_hooks or getattr(optim, "grad_scale", None):
        return False
    if _optimizer_module._global_optimizer_pre_hooks or _optimizer_module._global_optimizer_post_hooks:
        return False
    for group in optim.param_groups:
        if group["momentum"] or group["nesterov"] or group["maximize"]:
            return False
        if group.get("differentiable") or group.get("fused"):
            return False
        if isinstance(group["lr"], torch.Tensor) or isinstance(group["weight_decay"], torch.Tensor):
            return False
    return True


def zero_grads(optim) -> None:
    """``optim.zero_grad()`` (``set_to_none=True``, its default) for a plain SGD: every gradient to None."""
    for group in optim.param_groups:
        for param in group["params"]:
            param.grad = None


def plain_sgd_update(optim) -> bool:
    """Take ``optim.step()``'s update of every parameter that has a gradient, for a plain SGD
    (``is_plain_sgd``), under ``torch.no_grad()`` as the trainer calls it; False, having changed nothing,
    where a gradient is sparse (the optimizer steps then)."""
    updates = []
    for group in optim.param_groups:
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            continue
        grads = [p.grad for p in params]
        if any(grad.is_sparse for grad in grads):
            return False
        updates.append((params, grads, group["lr"], group["weight_decay"], group["foreach"] is False))
    for params, grads, lr, weight_decay, one_by_one in updates:
        if one_by_one:  # SGD(foreach=False): tensor by tensor, as SGD then adds even on a GPU
            for param, grad in zip(params, grads):
                param.add_(grad.add(param, alpha=weight_decay) if weight_decay else grad, alpha=-lr)
            continue
        if weight_decay:
            grads = torch._foreach_add(grads, params, alpha=weight_decay)
        torch._foreach_add_(params, grads, alpha=-lr)
    return True
