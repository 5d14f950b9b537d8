"""PyTorch-only, chapter 8: the book's ``model.apply_init(..., d2l.init_cnn)`` on every model (and
Xavier weights without it, from the lazy layers' hooks), the from-scratch batch normalization's modes
(the book's ``torch.is_grad_enabled()`` rule, the layer's ``train()``/``eval()``), its buffers, and a
``GoogleNet`` method replaced with ``add_to_class`` as the book's cells do."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
d2l = pytest.importorskip("d2lx.torch")
nn = torch.nn

SMALL_VGG_ARCH = ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128))  # the VGG the book trains
MODELS = {  # name -> (constructor arguments, the input size of the book's training cell)
    "AlexNet": ({}, 224),
    "VGG": ({"arch": SMALL_VGG_ARCH}, 224),
    "NiN": ({}, 224),
    "GoogleNet": ({}, 96),
    "BNLeNetScratch": ({}, 28),
    "BNLeNet": ({}, 28),
    "ResNet18": ({}, 96),
    "DenseNet": ({}, 96),
    "RegNetX32": ({}, 96),
}


@pytest.fixture(scope="module")
def first_batches():
    """The first training batch (two images) of Fashion-MNIST at each size, as the book's cells draw it."""
    return {
        size: next(iter(d2l.FashionMNIST(batch_size=2, resize=(size, size)).get_dataloader(True)))[0]
        for size in sorted({size for _, size in MODELS.values()})
    }


def _weighted_layers(model):
    return [m for m in model.modules() if type(m) in (nn.Conv2d, nn.Linear)]


def _is_xavier_uniform(weight) -> bool:
    """Every entry within the Xavier bound, and the largest near it (not PyTorch's default, kaiming
    uniform with a = sqrt(5), whose bound is sqrt(1 / fan_in))."""
    field = math.prod(weight.shape[2:])
    bound = math.sqrt(6 / ((weight.shape[0] + weight.shape[1]) * field))
    largest = float(weight.detach().abs().max())
    return 0.5 * bound < largest <= bound * (1 + 1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_the_books_apply_init_with_init_cnn_works_for_every_model(name, first_batches):
    kwargs, size = MODELS[name]
    model = getattr(d2l, name)(**kwargs)
    model.apply_init([first_batches[size]], d2l.init_cnn)  # the book's cell before trainer.fit
    layers = _weighted_layers(model)
    assert layers and all(_is_xavier_uniform(layer.weight) for layer in layers)
    assert not any(isinstance(m, nn.modules.lazy.LazyModuleMixin) for m in model.modules())
    assert not any(m._forward_pre_hooks for m in model.modules())  # init_cnn's one-shot hooks are gone


@pytest.mark.parametrize("name", ["AlexNet", "BNLeNetScratch", "DenseNet", "RegNetX32"])
def test_init_cnn_takes_effect_without_apply_init(name, first_batches):
    # the book trains AlexNet, DenseNet and RegNetX32 without apply_init: the init_cnn of __init__ must count
    kwargs, size = MODELS[name]
    model = getattr(d2l, name)(**kwargs)
    with torch.no_grad():
        model(first_batches[size])
    assert all(_is_xavier_uniform(layer.weight) for layer in _weighted_layers(model))


def _scratch_inputs(num_dims=4):
    torch.manual_seed(0)
    shape = (4, 3, 5, 5) if num_dims == 4 else (8, 3)
    stats = (1, 3, 1, 1) if num_dims == 4 else (1, 3)
    X = 2 + 3 * torch.randn(shape)
    return X, torch.ones(stats), torch.zeros(stats), torch.zeros(stats), torch.ones(stats)


def test_batch_norm_follows_the_books_rule_torch_is_grad_enabled():
    X, gamma, beta, mean, var = _scratch_inputs()
    Y, new_mean, new_var = d2l.batch_norm(X, gamma, beta, mean, var, eps=1e-5, momentum=0.1)
    assert abs(float(Y.mean())) < 1e-5  # normalized with this batch's statistics
    assert not torch.equal(new_mean, mean) and not torch.equal(new_var, var)
    with torch.no_grad():
        Y, kept_mean, kept_var = d2l.batch_norm(X, gamma, beta, mean, var, eps=1e-5, momentum=0.1)
    torch.testing.assert_close(Y, X / math.sqrt(1 + 1e-5))  # the moving statistics (0, 1)
    assert kept_mean is mean and kept_var is var


def test_batch_norm_training_argument_overrides_the_rule():
    X, gamma, beta, mean, var = _scratch_inputs(num_dims=2)
    with torch.no_grad():
        Y, new_mean, _ = d2l.batch_norm(X, gamma, beta, mean, var, 1e-5, 0.1, training=True)
    torch.testing.assert_close(new_mean, 0.1 * X.mean(dim=0, keepdim=True))
    Y, kept_mean, _ = d2l.batch_norm(X, gamma, beta, mean, var, 1e-5, 0.1, training=False)
    assert kept_mean is mean


def test_batch_norm_gradients_reach_gamma_beta_and_x_but_not_the_moving_statistics():
    X, gamma, beta, mean, var = _scratch_inputs()
    X.requires_grad_(True)
    gamma.requires_grad_(True)
    beta.requires_grad_(True)
    Y, new_mean, new_var = d2l.batch_norm(X, gamma, beta, mean, var, eps=1e-5, momentum=0.1)
    (Y * torch.arange(Y.numel()).reshape(Y.shape)).sum().backward()
    assert all(t.grad is not None and bool(t.grad.abs().sum() > 0) for t in (X, gamma, beta))
    assert not new_mean.requires_grad and not new_var.requires_grad


def test_batch_norm_refuses_three_dimensional_inputs():
    with pytest.raises(ValueError, match=r"2 dimensions .* or 4 .* got shape \(2, 3, 4\)"):
        d2l.batch_norm(torch.zeros(2, 3, 4), 1.0, 0.0, 0.0, 1.0, 1e-5, 0.1)


def test_batch_norm_layer_checks_num_dims():
    with pytest.raises(ValueError, match="num_dims must be 2 .* or 4 .* got 3"):
        d2l.BatchNorm(6, num_dims=3)


def test_batch_norm_layer_mode_is_the_modules():
    """``eval()`` uses the moving statistics even where gradients are on (a saliency map, say), and
    ``train()`` the batch's even under ``no_grad``: as ``nn.BatchNorm2d``."""
    layer = d2l.BatchNorm(3, num_dims=4)
    reference = nn.BatchNorm2d(3)
    X = _scratch_inputs()[0]
    for module in (layer, reference):
        module.eval()
    torch.testing.assert_close(layer(X), reference(X))
    assert float(layer.moving_mean.abs().sum()) == 0
    for module in (layer, reference):
        module.train()
    with torch.no_grad():
        torch.testing.assert_close(layer(X), reference(X))
    torch.testing.assert_close(layer.moving_mean.reshape(-1), reference.running_mean)
    # nn.BatchNorm2d keeps the unbiased variance; the book's layer (and the test's numpy reference) the biased
    n = X.numel() // 3
    torch.testing.assert_close(layer.moving_var.reshape(-1), 0.9 + (reference.running_var - 0.9) * (n - 1) / n)


def test_batch_norm_layer_statistics_are_buffers():
    model = d2l.BNLeNetScratch()
    assert isinstance(model.net[1], d2l.BatchNorm)  # the book's cell reads model.net[1].gamma
    names = set(model.state_dict())
    assert {"net.1.moving_mean", "net.1.moving_var", "net.1.gamma", "net.1.beta"} <= names
    model.net[1](torch.randn(4, 6, 3, 3))  # a training call replaces the buffers...
    assert "moving_mean" in model.net[1]._buffers and "moving_mean" not in vars(model.net[1])
    model.double()  # ...which still follow the model's casts and moves
    assert model.net[1].moving_var.dtype == torch.float64
    assert not any(p is model.net[1].moving_mean for p in model.parameters())


def test_validation_keeps_the_scratch_moving_statistics():
    # the Trainer validates under model.eval() and torch.no_grad(): both say "prediction"
    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=32)
    model = d2l.BNLeNetScratch(lr=0.1)
    d2l.Trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0, progress_bar=False).fit(model, data)
    moved = [model.net[i].moving_mean.clone() for i in (1, 5, 10, 13)]
    d2l.Trainer(max_epochs=1, limit_train_batches=0, limit_val_batches=2, progress_bar=False).fit(model, data)
    assert all(torch.equal(a, model.net[i].moving_mean) for a, i in zip(moved, (1, 5, 10, 13)))


def test_a_googlenet_method_replaced_with_add_to_class_builds_the_next_model():
    original = d2l.GoogleNet.b2
    try:

        @d2l.add_to_class(d2l.GoogleNet)
        def b2(self):  # the book's cells add b2..b5 this way; here a b2 of 100 channels
            return nn.Sequential(nn.LazyConv2d(100, kernel_size=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))

        model = d2l.GoogleNet()
        with torch.no_grad():
            Y = model.net[:2](torch.zeros(1, 1, 96, 96))
        assert tuple(Y.shape) == (1, 100, 12, 12)
    finally:
        d2l.GoogleNet.b2 = original


def test_densenet_stem_has_num_channels():
    model = d2l.DenseNet(num_channels=32, arch=(2, 2))
    with torch.no_grad():
        shapes = [tuple(model.net[:i](torch.zeros(1, 1, 96, 96)).shape) for i in (1, 3)]
    # 32 + 2 * 32 = 96 channels after the first dense block, halved to 48 by its transition
    assert shapes == [(1, 32, 24, 24), (1, 48, 12, 12)]


def test_layer_summary_prints_the_materialised_layers(capsys):
    d2l.BNLeNet().layer_summary((2, 1, 28, 28))  # as the book prints it: Conv2d, not LazyConv2d
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[:3] == ["Conv2d", "BatchNorm2d", "Sigmoid"] and len(names) == 16
