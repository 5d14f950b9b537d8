"""PyTorch-only: the trainer takes a plain ``torch.optim.SGD``'s update itself (``d2lx.torch.sgd_update``),
with the same numbers bit for bit, and leaves every other optimizer (and any SGD a cell has hooked,
wrapped or given momentum) to step itself."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
d2l = pytest.importorskip("d2lx.torch")
from helpers import small_classification  # noqa: E402
from torch.optim import optimizer as optimizer_module  # noqa: E402

from d2lx.torch import sgd_update  # noqa: E402


def _fit(model_factory, steps: int = 6, hook=None, counted=None, monkeypatch=None):
    """Train a fresh, seeded model for ``steps`` batches; the parameters after, as numpy arrays."""
    d2l.set_seed(3)
    model = model_factory()
    data = small_classification(d2l, num_train=steps * 16, num_val=16, batch_size=16)
    trainer = d2l.Trainer(max_epochs=1)
    if counted is not None:
        original = sgd_update.plain_sgd_update
        monkeypatch.setattr(sgd_update, "plain_sgd_update", lambda optim: counted.append(1) or original(optim))
    handle = optimizer_module.register_optimizer_step_pre_hook(hook) if hook is not None else None
    try:
        trainer.fit(model, data)
    finally:
        if handle is not None:
            handle.remove()
    return [p.detach().numpy().copy() for p in model.parameters()], trainer


class _Net(d2l.Classifier):
    """Two layers, a weight decay on the first, and a bias left out of the optimizer's groups."""

    def __init__(self, lr=0.3, momentum=0.0, weight_decay=1e-2, scheduler=False, foreach=None):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.LazyLinear(8), torch.nn.ReLU(), torch.nn.LazyLinear(10)
        )

    def configure_optimizers(self):
        first, second = self.net[1], self.net[3]
        groups = [
            {"params": [first.weight], "weight_decay": self.weight_decay},
            {"params": [first.bias, second.weight], "lr": self.lr / 2},
        ]  # second.bias has no group: it keeps its initial values
        optim = torch.optim.SGD(groups, lr=self.lr, momentum=self.momentum, foreach=self.foreach)
        if self.scheduler:
            self._scheduler = torch.optim.lr_scheduler.StepLR(optim, step_size=1)
        return optim


def _calls_counted(hook_calls):
    return lambda optim, args, kwargs: hook_calls.append(type(optim).__name__)


@pytest.mark.parametrize("foreach", [None, False])  # None: torch's default; False: tensor by tensor
def test_the_plain_sgd_update_is_torch_optims_bit_for_bit(foreach, monkeypatch):
    taken = []
    fast, trainer = _fit(lambda: _Net(foreach=foreach), counted=taken, monkeypatch=monkeypatch)
    steps_through_optimizer = []
    # a global step hook: torch.optim steps itself
    slow, _ = _fit(lambda: _Net(foreach=foreach), hook=_calls_counted(steps_through_optimizer))
    assert len(taken) == trainer.train_batch_idx == 6
    assert steps_through_optimizer == ["SGD"] * 6
    for got, expected in zip(fast, slow):
        np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(fast[0], _fit(lambda: _Net(weight_decay=0.0))[0][0])  # the decay was applied
    bias_of_the_last_layer = fast[3]
    d2l.set_seed(3)
    untrained = _Net()
    untrained(torch.zeros(1, 3, 4))  # the lazy layers draw their initial values, as the fit did
    np.testing.assert_array_equal(bias_of_the_last_layer, untrained.net[3].bias.detach().numpy())


@pytest.mark.parametrize(
    "case",
    ["momentum", "scheduler", "hook on the optimizer", "subclass", "adam", "replaced step"],
)
def test_anything_but_a_plain_sgd_steps_through_the_optimizer(case, monkeypatch):
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    assert sgd_update.is_plain_sgd(sgd)
    params = [torch.nn.Parameter(torch.zeros(2))]
    if case == "momentum":
        optim = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    elif case == "scheduler":
        optim = torch.optim.SGD(params, lr=0.1)
        torch.optim.lr_scheduler.StepLR(optim, step_size=1)  # wraps optim.step to count its calls
    elif case == "hook on the optimizer":
        optim = torch.optim.SGD(params, lr=0.1)
        optim.register_step_post_hook(lambda *args: None)
    elif case == "subclass":
        optim = type("MySGD", (torch.optim.SGD,), {})(params, lr=0.1)
    elif case == "adam":
        optim = torch.optim.Adam(params, lr=0.1)
    else:
        monkeypatch.setattr(torch.optim.SGD, "step", lambda self, closure=None: None)
        optim = torch.optim.SGD(params, lr=0.1)
    assert not sgd_update.is_plain_sgd(optim)


@pytest.mark.parametrize("momentum,scheduler", [(0.9, False), (0.0, True)])
def test_a_fit_with_momentum_or_a_scheduler_trains_as_torch_optim_says(momentum, scheduler, monkeypatch):
    taken = []
    got, _ = _fit(lambda: _Net(momentum=momentum, scheduler=scheduler), counted=taken, monkeypatch=monkeypatch)
    calls = []
    expected, _ = _fit(lambda: _Net(momentum=momentum, scheduler=scheduler), hook=_calls_counted(calls))
    assert taken == [] and calls == ["SGD"] * 6
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_a_sparse_gradient_is_left_to_the_optimizer():
    embedding = torch.nn.Embedding(5, 2, sparse=True)
    optim = torch.optim.SGD(embedding.parameters(), lr=0.5)
    before = embedding.weight.detach().clone()
    embedding(torch.tensor([1, 3])).sum().backward()
    assert sgd_update.is_plain_sgd(optim) and embedding.weight.grad.is_sparse
    with torch.no_grad():
        assert sgd_update.plain_sgd_update(optim) is False
    assert torch.equal(embedding.weight, before)  # nothing changed: the trainer calls optim.step() instead
    optim.step()
    assert torch.equal(embedding.weight[1], before[1] - 0.5) and torch.equal(embedding.weight[0], before[0])
