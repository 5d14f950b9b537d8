"""Multilayer perceptrons (1.0 edition, 5.2), weight decay (3.7) and dropout (5.6), with the book's settings."""

from __future__ import annotations

import numpy as np
import pytest
from adapters import adapter
from helpers import TRUE_B, TRUE_W, final_val_accuracy, small_classification

from d2lx.plotting import to_numpy
from d2lx.utils import seeded_normal

MLP_MODELS = {
    "scratch": lambda d2l: d2l.MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1),
    "concise": lambda d2l: d2l.MLP(num_outputs=10, num_hiddens=256, lr=0.1),
}
WEIGHT_DECAY_MODELS = {
    "scratch": lambda d2l, lambd, lr: d2l.WeightDecayScratch(num_inputs=200, lambd=lambd, lr=lr),
    "concise": lambda d2l, lambd, lr: d2l.WeightDecay(wd=lambd, lr=lr),
}
DROPOUT_MODELS = {
    "scratch": lambda d2l, p1, p2, lr=0.1: d2l.DropoutMLPScratch(
        num_outputs=10, num_hiddens_1=32, num_hiddens_2=32, dropout_1=p1, dropout_2=p2, lr=lr
    ),
    "concise": lambda d2l, p1, p2, lr=0.1: d2l.DropoutMLP(
        num_outputs=10, num_hiddens_1=32, num_hiddens_2=32, dropout_1=p1, dropout_2=p2, lr=lr
    ),
}


def _curve(model, label: str) -> list[float]:
    return [p.y for p in model.board.data[label]]


@pytest.mark.full_training
@pytest.mark.parametrize("kind", MLP_MODELS)
def test_mlp_on_fashion_mnist(backend, kind):
    data = backend.FashionMNIST(batch_size=256)
    model = MLP_MODELS[kind](backend)
    backend.Trainer(max_epochs=10).fit(model, data)
    assert final_val_accuracy(model) >= 0.83
    train_loss = _curve(model, "train_loss")
    assert len(train_loss) == 20 and train_loss[-1] < 0.5 * train_loss[0]


def test_mlp_scratch_starts_from_the_seeded_stream(backend):
    data = small_classification(backend)
    X = next(iter(data.train_dataloader()))[0]
    backend.set_seed(3)
    first = backend.MLPScratch(num_inputs=12, num_outputs=10, num_hiddens=8, lr=0.1, sigma=0.5)
    backend.Trainer(max_epochs=1).fit(first, data)  # training draws nothing from the stream
    second = backend.MLPScratch(num_inputs=12, num_outputs=10, num_hiddens=8, lr=0.1, sigma=0.5)
    W1, W2 = adapter(backend).scratch_parameters(second, ("W1", "W2"), X)
    backend.set_seed(3)
    [seeded_normal(shape, 0.5) for shape in ((12, 8), (8, 10))]  # the first model's
    np.testing.assert_array_equal(W1, seeded_normal((12, 8), 0.5))
    np.testing.assert_array_equal(W2, seeded_normal((8, 10), 0.5))
    assert to_numpy(backend.relu(backend.tensor([-1.0, 0.0, 2.5]))).tolist() == [0.0, 0.0, 2.5]


@pytest.mark.parametrize("kind", WEIGHT_DECAY_MODELS)
def test_weight_decay_shrinks_w_and_lowers_validation_loss(backend, kind):
    results = {}
    for lambd in (0, 3):
        backend.set_seed(0)
        data = backend.Data(num_train=20, num_val=100, num_inputs=200, batch_size=5)
        model = WEIGHT_DECAY_MODELS[kind](backend, lambd, 0.01)
        backend.Trainer(max_epochs=10).fit(model, data)
        w = model.get_w_b()[0]
        norm = float(backend.l2_penalty(w))
        assert norm == pytest.approx(float((to_numpy(w) ** 2).sum() / 2), rel=1e-5)
        results[lambd] = norm, _curve(model, "val_loss")[-1]
    (norm_0, val_0), (norm_3, val_3) = results[0], results[3]
    assert norm_3 < 0.5 * norm_0 and val_3 < val_0, results


@pytest.mark.parametrize("kind", WEIGHT_DECAY_MODELS)
def test_weight_decay_leaves_the_bias_alone(backend, kind):
    data = backend.SyntheticRegressionData(w=backend.tensor(TRUE_W.tolist()), b=TRUE_B)
    if kind == "scratch":
        model = backend.WeightDecayScratch(num_inputs=2, lambd=3, lr=0.03)
    else:
        model = backend.WeightDecay(wd=3, lr=0.03)
    backend.Trainer(max_epochs=10).fit(model, data)
    w, b = (to_numpy(t).reshape(-1) for t in model.get_w_b())
    assert np.linalg.norm(w) < 0.6 * np.linalg.norm(TRUE_W)  # decayed to 1/4 or 2/5 of w, by the loss's scale
    assert abs(b[0] - TRUE_B) < 0.05  # a decayed bias would end near 4.2 / 4 or 4.2 * 2 / 5


def test_dropout_layer(backend):
    x = np.arange(16, dtype=np.float32).reshape(2, 8)
    X = backend.tensor(x)
    np.testing.assert_array_equal(to_numpy(backend.dropout_layer(X, 0.0)), x)
    np.testing.assert_array_equal(to_numpy(backend.dropout_layer(X, 1.0)), np.zeros_like(x))
    half = to_numpy(backend.dropout_layer(X, 0.5))
    assert np.all((half == 0) | np.isclose(half, 2 * x))
    many = to_numpy(backend.dropout_layer(backend.tensor(np.ones((200, 500), np.float32)), 0.3))
    kept = many[many != 0]
    assert abs(kept.size / many.size - 0.7) < 0.01 and np.allclose(kept, 1 / 0.7)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\], got 1.5"):
        backend.dropout_layer(X, 1.5)


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


@pytest.mark.parametrize("kind", DROPOUT_MODELS)
def test_dropout_only_while_training_and_seeded(backend, kind):
    # one training batch seen twice with a negligible learning rate: the two training losses differ
    # only if the trainer trains with dropout; validation must run without it
    data = small_classification(backend, num_train=64, num_val=64, batch_size=64, scale=5.0)
    X, y = next(iter(data.val_dataloader()))
    outputs = adapter(backend).model_outputs
    runs = []
    for p in (0.5, 0.5, 0.0):
        backend.set_seed(0)
        model = DROPOUT_MODELS[kind](backend, p, p, lr=1e-8)
        trainer = backend.Trainer(max_epochs=2)
        trainer.fit(model, data)
        runs.append({label: _curve(model, label) for label in ("train_loss", "val_loss", "val_acc")})
        first, second = runs[-1]["train_loss"]
        if p == 0.0:
            assert second == pytest.approx(first, rel=1e-6)
        else:
            assert abs(second - first) > 1e-4 * first
        evaluated = outputs(model, X, training=False, trainer=trainer)
        np.testing.assert_array_equal(evaluated, outputs(model, X, training=False, trainer=trainer))
        assert runs[-1]["val_loss"][-1] == pytest.approx(_cross_entropy(evaluated, to_numpy(y)), rel=1e-4)
        trained = [outputs(model, X, training=True, trainer=trainer) for _ in range(2)]
        if p == 0.0:  # nothing dropped: training mode computes the same function
            np.testing.assert_allclose(trained[0], evaluated, rtol=1e-5, atol=1e-6)
        else:
            assert not np.allclose(trained[0], trained[1]) and not np.allclose(trained[0], evaluated)
    assert runs[0] == runs[1]  # the same seed gives the same numbers, dropout masks included


def test_dropout_of_one_leaves_only_the_output_bias(backend):
    X = next(iter(small_classification(backend).val_dataloader()))[0]
    model = DROPOUT_MODELS["scratch"](backend, 1.0, 1.0)
    out = adapter(backend).model_outputs(model, X, training=True)
    assert out.shape == (64, 10)
    np.testing.assert_array_equal(out, np.broadcast_to(out[:1], out.shape))  # every row the same
    assert not np.allclose(adapter(backend).model_outputs(model, X, training=False), out)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda d2l: d2l.MLP(num_outputs=10, num_hiddens=0, lr=0.1), ValueError,
         "num_hiddens must be a positive int, got 0"),
        (lambda d2l: d2l.MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0), ValueError,
         "lr must be a positive number, got 0"),
        (lambda d2l: d2l.DropoutMLP(10, 256, 256, 1.5, 0.5, 0.1), ValueError,
         r"dropout_1 must be a number in \[0, 1\], got 1.5"),
        (lambda d2l: d2l.DropoutMLPScratch(10, 256, 256, 0.5, "0.5", 0.1), TypeError,
         r"dropout_2 must be a number in \[0, 1\], got '0.5' \(str\)"),
        (lambda d2l: d2l.WeightDecayScratch(num_inputs=200, lambd=-1, lr=0.01), ValueError,
         "lambd must be a non-negative number, got -1"),
        (lambda d2l: d2l.WeightDecay(wd=-3, lr=0.01), ValueError, "wd must be a non-negative number, got -3"),
        (lambda d2l: d2l.Data(num_train=20, num_val=100, num_inputs=0, batch_size=5), ValueError,
         "num_inputs must be a positive int, got 0"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_get_clear_errors(backend, make, error, message):
    with pytest.raises(error, match=message):
        make(backend)


@pytest.mark.parametrize("kind", ["MLP", "DropoutMLPScratch"])
def test_xavier_initialisation_through_apply_init(backend, kind):
    X = next(iter(small_classification(backend, scale=1.0).train_dataloader()))[0]
    if kind == "MLP":
        model = backend.MLP(num_outputs=10, num_hiddens=256, lr=0.1)
    else:
        model = backend.DropoutMLPScratch(10, 256, 128, 0.5, 0.5, lr=0.1)
    adapt = adapter(backend)
    default = adapt.weights_after_apply_init(model, X)
    drawn = adapt.weights_after_apply_init(model, X, adapt.xavier())
    assert [w.shape for w in drawn] == [w.shape for w in default] and len(drawn) in (2, 3)
    for before, w in zip(default, drawn):
        fan_in, fan_out = w.shape
        limit = np.sqrt(6 / (fan_in + fan_out))  # Xavier's uniform bound: variance 2 / (fan_in + fan_out)
        assert np.abs(w).max() <= limit and np.var(w) == pytest.approx(limit**2 / 3, rel=0.15)
        assert not np.array_equal(before, w)  # redrawn, not the framework's initial values


def test_torch_dropout_mlp_scratch_keeps_the_books_relu_module(backend):
    # d2l's PyTorch DropoutMLPScratch holds ``self.relu = nn.ReLU()``; printing the model lists it, and the
    # forward pass (written once in d2lx.mlp) must go through that module, not a second ReLU
    if backend.__name__ != "d2lx.torch":
        pytest.skip("the nn.ReLU attribute is PyTorch's")
    model = DROPOUT_MODELS["scratch"](backend, 0.0, 0.0)
    assert isinstance(model.relu, backend.nn.ReLU) and "(relu): ReLU()" in repr(model)
    calls = []
    model.relu.register_forward_hook(lambda module, inputs, output: calls.append(output.shape))
    model(backend.torch.ones((3, 784)))
    assert calls == [(3, 32), (3, 32)]
