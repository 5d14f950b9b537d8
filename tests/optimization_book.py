"""The optimizer cells of the book's chapter 12 (1.0 edition; 11 in the 2.0 edition), typed from the book for
each framework, for ``test_optimization.py``; for JAX, which the book does not cover, d2lx's functional form
(``trainer_fn(params, grads, states, hyperparams) -> (params, states)``, as documented in the README).

``book(d2l).scratch(d2l)`` returns, for each section, the book's ``(trainer_fn, states, hyperparams)`` as its
``train_ch11`` cell passes them (states made for the airfoil data's 5 features), and
``book(d2l).concise(d2l)`` the ``(trainer, hyperparams)`` of its ``train_concise_ch11`` cell. The TensorFlow
``adam`` and ``yogi`` are the book's as printed, with its slip (``+ eps`` outside the square root's
denominator; ``adam`` never advances ``t``): the notebooks carry the corrected cell.
``book(d2l).schedules(d2l)`` gives 12.11's learning-rate schedules, each as the list of its first ``STEPS``
values that the section's plotting cells draw: the book's own classes (typed once below: the book's PyTorch
and TensorFlow tabs share them) where the section uses them, the framework's objects where it does (PyTorch's
``MultiStepLR``, MXNet's ``lr_scheduler``; for JAX, the Optax schedules of d2lx's notebook).
Each class imports its framework only when called.
"""

from __future__ import annotations

import math

from helpers import backend_name, per_backend

FEATURE_DIM = 5  # the airfoil data's features
STEPS = 60  # values drawn from each learning-rate schedule


# --- 12.11: the book's schedulers, one text on PyTorch and TensorFlow (and in JAX's notebook) -------------
class SquareRootScheduler:
    def __init__(self, lr=0.1):
        self.lr = lr

    def __call__(self, num_update):
        return self.lr * pow(num_update + 1.0, -0.5)


class FactorScheduler:
    def __init__(self, factor=1, stop_factor_lr=1e-7, base_lr=0.1):
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.base_lr = base_lr

    def __call__(self, num_update):
        self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
        return self.base_lr


class CosineScheduler:
    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0, warmup_begin_lr=0):
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.warmup_steps = warmup_steps
        self.warmup_begin_lr = warmup_begin_lr
        self.max_steps = self.max_update - self.warmup_steps

    def get_warmup_lr(self, epoch):
        increase = (self.base_lr_orig - self.warmup_begin_lr) * float(epoch) / float(self.warmup_steps)
        return self.warmup_begin_lr + increase

    def __call__(self, epoch):
        if epoch < self.warmup_steps:
            return self.get_warmup_lr(epoch)
        if epoch <= self.max_update:
            self.base_lr = (
                self.final_lr
                + (self.base_lr_orig - self.final_lr)
                * (1 + math.cos(math.pi * (epoch - self.warmup_steps) / self.max_steps))
                / 2
            )
        return self.base_lr


def drawn(scheduler) -> list[float]:
    """``[scheduler(t) for t in range(STEPS)]``, as the section's plotting cells call it, as Python floats."""
    return [float(scheduler(t)) for t in range(STEPS)]


def book_schedules() -> dict:
    """The section's schedules made by the book's classes, with the cells' arguments."""
    return {
        "square_root": drawn(SquareRootScheduler(lr=1.0)),
        "factor": drawn(FactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)),
        "cosine": drawn(CosineScheduler(max_update=20, base_lr=0.3, final_lr=0.01)),
        "warmup": drawn(CosineScheduler(20, warmup_steps=5, base_lr=0.3, final_lr=0.01)),
    }


class Torch:
    backend = "torch"

    @staticmethod
    def scratch(d2l) -> dict:
        import torch

        def sgd(params, states, hyperparams):
            for p in params:
                p.data.sub_(hyperparams["lr"] * p.grad)
                p.grad.data.zero_()

        def init_momentum_states(feature_dim):
            v_w = d2l.zeros((feature_dim, 1))
            v_b = d2l.zeros(1)
            return (v_w, v_b)

        def sgd_momentum(params, states, hyperparams):
            for p, v in zip(params, states):
                with torch.no_grad():
                    v[:] = hyperparams["momentum"] * v + p.grad
                    p[:] -= hyperparams["lr"] * v
                p.grad.data.zero_()

        def init_adagrad_states(feature_dim):
            s_w = d2l.zeros((feature_dim, 1))
            s_b = d2l.zeros(1)
            return (s_w, s_b)

        def adagrad(params, states, hyperparams):
            eps = 1e-6
            for p, s in zip(params, states):
                with torch.no_grad():
                    s[:] += torch.square(p.grad)
                    p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
                p.grad.data.zero_()

        def init_rmsprop_states(feature_dim):
            s_w = d2l.zeros((feature_dim, 1))
            s_b = d2l.zeros(1)
            return (s_w, s_b)

        def rmsprop(params, states, hyperparams):
            gamma, eps = hyperparams["gamma"], 1e-6
            for p, s in zip(params, states):
                with torch.no_grad():
                    s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
                    p[:] -= hyperparams["lr"] * p.grad / torch.sqrt(s + eps)
                p.grad.data.zero_()

        def init_adadelta_states(feature_dim):
            s_w, s_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            delta_w, delta_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            return ((s_w, delta_w), (s_b, delta_b))

        def adadelta(params, states, hyperparams):
            rho, eps = hyperparams["rho"], 1e-5
            for p, (s, delta) in zip(params, states):
                with torch.no_grad():
                    # In-place updates via [:]
                    s[:] = rho * s + (1 - rho) * torch.square(p.grad)
                    g = (torch.sqrt(delta + eps) / torch.sqrt(s + eps)) * p.grad
                    p[:] -= g
                    delta[:] = rho * delta + (1 - rho) * g * g
                p.grad.data.zero_()

        def init_adam_states(feature_dim):
            v_w, v_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            s_w, s_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            return ((v_w, s_w), (v_b, s_b))

        def adam(params, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-6
            for p, (v, s) in zip(params, states):
                with torch.no_grad():
                    v[:] = beta1 * v + (1 - beta1) * p.grad
                    s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
                    v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                    s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                    p[:] -= hyperparams["lr"] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
                p.grad.data.zero_()
            hyperparams["t"] += 1

        def yogi(params, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-3
            for p, (v, s) in zip(params, states):
                with torch.no_grad():
                    v[:] = beta1 * v + (1 - beta1) * p.grad
                    s[:] = s + (1 - beta2) * torch.sign(torch.square(p.grad) - s) * torch.square(p.grad)
                    v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                    s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                    p[:] -= hyperparams["lr"] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
                p.grad.data.zero_()
            hyperparams["t"] += 1

        return _sections(locals())

    @staticmethod
    def schedules(d2l) -> dict:
        """12.11: the book's classes, and PyTorch's ``MultiStepLR`` read by the book's ``get_lr``."""
        import torch
        from torch.optim import lr_scheduler

        trainer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
        scheduler = lr_scheduler.MultiStepLR(trainer, milestones=[15, 30], gamma=0.5)

        def get_lr(trainer, scheduler):
            lr = scheduler.get_last_lr()[0]
            trainer.step()
            scheduler.step()
            return lr

        return {**book_schedules(), "multi_factor": drawn(lambda t: get_lr(trainer, scheduler))}

    @staticmethod
    def concise(d2l) -> dict:
        import torch

        return {
            "sgd": (torch.optim.SGD, {"lr": 0.01}),
            "momentum": (torch.optim.SGD, {"lr": 0.005, "momentum": 0.9}),
            "adagrad": (torch.optim.Adagrad, {"lr": 0.1}),
            "rmsprop": (torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9}),
            "adadelta": (torch.optim.Adadelta, {"rho": 0.9}),
            "adam": (torch.optim.Adam, {"lr": 0.01}),
        }


class MXNet:
    backend = "mxnet"

    @staticmethod
    def scratch(d2l) -> dict:
        from mxnet import np

        def sgd(params, states, hyperparams):
            for p in params:
                p[:] -= hyperparams["lr"] * p.grad

        def init_momentum_states(feature_dim):
            v_w = d2l.zeros((feature_dim, 1))
            v_b = d2l.zeros(1)
            return (v_w, v_b)

        def sgd_momentum(params, states, hyperparams):
            for p, v in zip(params, states):
                v[:] = hyperparams["momentum"] * v + p.grad
                p[:] -= hyperparams["lr"] * v

        def init_adagrad_states(feature_dim):
            s_w = d2l.zeros((feature_dim, 1))
            s_b = d2l.zeros(1)
            return (s_w, s_b)

        def adagrad(params, states, hyperparams):
            eps = 1e-6
            for p, s in zip(params, states):
                s[:] += np.square(p.grad)
                p[:] -= hyperparams["lr"] * p.grad / np.sqrt(s + eps)

        def init_rmsprop_states(feature_dim):
            s_w = d2l.zeros((feature_dim, 1))
            s_b = d2l.zeros(1)
            return (s_w, s_b)

        def rmsprop(params, states, hyperparams):
            gamma, eps = hyperparams["gamma"], 1e-6
            for p, s in zip(params, states):
                s[:] = gamma * s + (1 - gamma) * np.square(p.grad)
                p[:] -= hyperparams["lr"] * p.grad / np.sqrt(s + eps)

        def init_adadelta_states(feature_dim):
            s_w, s_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            delta_w, delta_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            return ((s_w, delta_w), (s_b, delta_b))

        def adadelta(params, states, hyperparams):
            rho, eps = hyperparams["rho"], 1e-5
            for p, (s, delta) in zip(params, states):
                # In-place updates via [:]
                s[:] = rho * s + (1 - rho) * np.square(p.grad)
                g = (np.sqrt(delta + eps) / np.sqrt(s + eps)) * p.grad
                p[:] -= g
                delta[:] = rho * delta + (1 - rho) * g * g

        def init_adam_states(feature_dim):
            v_w, v_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            s_w, s_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            return ((v_w, s_w), (v_b, s_b))

        def adam(params, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-6
            for p, (v, s) in zip(params, states):
                v[:] = beta1 * v + (1 - beta1) * p.grad
                s[:] = beta2 * s + (1 - beta2) * np.square(p.grad)
                v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                p[:] -= hyperparams["lr"] * v_bias_corr / (np.sqrt(s_bias_corr) + eps)
            hyperparams["t"] += 1

        def yogi(params, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-3
            for p, (v, s) in zip(params, states):
                v[:] = beta1 * v + (1 - beta1) * p.grad
                s[:] = s + (1 - beta2) * np.sign(np.square(p.grad) - s) * np.square(p.grad)
                v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                p[:] -= hyperparams["lr"] * v_bias_corr / (np.sqrt(s_bias_corr) + eps)
            hyperparams["t"] += 1

        return _sections(locals())

    @staticmethod
    def schedules(d2l) -> dict:
        """12.11: the book's two classes, and MXNet's own multi-factor and cosine schedulers."""
        from mxnet import lr_scheduler

        return {
            **book_schedules(),
            "multi_factor": drawn(lr_scheduler.MultiFactorScheduler(step=[15, 30], factor=0.5, base_lr=0.5)),
            "cosine": drawn(lr_scheduler.CosineScheduler(max_update=20, base_lr=0.3, final_lr=0.01)),
            "warmup": drawn(lr_scheduler.CosineScheduler(20, warmup_steps=5, base_lr=0.3, final_lr=0.01)),
        }

    @staticmethod
    def concise(d2l) -> dict:
        return {
            "sgd": ("sgd", {"learning_rate": 0.05}),
            "momentum": ("sgd", {"learning_rate": 0.005, "momentum": 0.9}),
            "adagrad": ("adagrad", {"learning_rate": 0.1}),
            "rmsprop": ("rmsprop", {"learning_rate": 0.01, "gamma1": 0.9}),
            "adadelta": ("adadelta", {"rho": 0.9}),
            "adam": ("adam", {"learning_rate": 0.01}),
        }


class TensorFlow:
    backend = "tensorflow"

    @staticmethod
    def scratch(d2l) -> dict:
        import tensorflow as tf

        def sgd(params, grads, states, hyperparams):
            for param, grad in zip(params, grads):
                param.assign_sub(hyperparams["lr"] * grad)

        def init_momentum_states(features_dim):
            v_w = tf.Variable(d2l.zeros((features_dim, 1)))
            v_b = tf.Variable(d2l.zeros(1))
            return (v_w, v_b)

        def sgd_momentum(params, grads, states, hyperparams):
            for p, v, g in zip(params, states, grads):
                v[:].assign(hyperparams["momentum"] * v + g)
                p[:].assign(p - hyperparams["lr"] * v)

        def init_adagrad_states(feature_dim):
            s_w = tf.Variable(d2l.zeros((feature_dim, 1)))
            s_b = tf.Variable(d2l.zeros(1))
            return (s_w, s_b)

        def adagrad(params, grads, states, hyperparams):
            eps = 1e-6
            for p, s, g in zip(params, states, grads):
                s[:].assign(s + tf.math.square(g))
                p[:].assign(p - hyperparams["lr"] * g / tf.math.sqrt(s + eps))

        def init_rmsprop_states(feature_dim):
            s_w = tf.Variable(d2l.zeros((feature_dim, 1)))
            s_b = tf.Variable(d2l.zeros(1))
            return (s_w, s_b)

        def rmsprop(params, grads, states, hyperparams):
            gamma, eps = hyperparams["gamma"], 1e-6
            for p, s, g in zip(params, states, grads):
                s[:].assign(gamma * s + (1 - gamma) * tf.math.square(g))
                p[:].assign(p - hyperparams["lr"] * g / tf.math.sqrt(s + eps))

        def init_adadelta_states(feature_dim):
            s_w = tf.Variable(d2l.zeros((feature_dim, 1)))
            s_b = tf.Variable(d2l.zeros(1))
            delta_w = tf.Variable(d2l.zeros((feature_dim, 1)))
            delta_b = tf.Variable(d2l.zeros(1))
            return ((s_w, delta_w), (s_b, delta_b))

        def adadelta(params, grads, states, hyperparams):
            rho, eps = hyperparams["rho"], 1e-5
            for p, (s, delta), grad in zip(params, states, grads):
                s[:].assign(rho * s + (1 - rho) * tf.math.square(grad))
                g = (tf.math.sqrt(delta + eps) / tf.math.sqrt(s + eps)) * grad
                p[:].assign(p - g)
                delta[:].assign(rho * delta + (1 - rho) * g * g)

        def init_adam_states(feature_dim):
            v_w = tf.Variable(d2l.zeros((feature_dim, 1)))
            v_b = tf.Variable(d2l.zeros(1))
            s_w = tf.Variable(d2l.zeros((feature_dim, 1)))
            s_b = tf.Variable(d2l.zeros(1))
            return ((v_w, s_w), (v_b, s_b))

        def adam(params, grads, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-6
            for p, (v, s), grad in zip(params, states, grads):
                v[:].assign(beta1 * v + (1 - beta1) * grad)
                s[:].assign(beta2 * s + (1 - beta2) * tf.math.square(grad))
                v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                p[:].assign(p - hyperparams["lr"] * v_bias_corr / tf.math.sqrt(s_bias_corr) + eps)

        def yogi(params, grads, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-6
            for p, (v, s), grad in zip(params, states, grads):
                v[:].assign(beta1 * v + (1 - beta1) * grad)
                s[:].assign(s + (1 - beta2) * tf.math.sign(tf.math.square(grad) - s) * tf.math.square(grad))
                v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                p[:].assign(p - hyperparams["lr"] * v_bias_corr / tf.math.sqrt(s_bias_corr) + eps)
            hyperparams["t"] += 1

        return _sections(locals())

    @staticmethod
    def schedules(d2l) -> dict:
        """12.11: the book's classes, its TensorFlow ``MultiFactorScheduler`` among them."""

        class MultiFactorScheduler:
            def __init__(self, step, factor, base_lr):
                self.step = step
                self.factor = factor
                self.base_lr = base_lr

            def __call__(self, epoch):
                if epoch in self.step:
                    self.base_lr = self.base_lr * self.factor
                    return self.base_lr
                else:
                    return self.base_lr

        return {
            **book_schedules(),
            "multi_factor": drawn(MultiFactorScheduler(step=[15, 30], factor=0.5, base_lr=0.5)),
        }

    @staticmethod
    def concise(d2l) -> dict:
        import tensorflow as tf

        return {
            "sgd": (tf.keras.optimizers.SGD, {"learning_rate": 0.05}),
            "momentum": (tf.keras.optimizers.SGD, {"learning_rate": 0.005, "momentum": 0.9}),
            "adagrad": (tf.keras.optimizers.Adagrad, {"learning_rate": 0.1}),
            "rmsprop": (tf.keras.optimizers.RMSprop, {"learning_rate": 0.01, "rho": 0.9}),
            "adadelta": (tf.keras.optimizers.Adadelta, {"learning_rate": 5.0, "rho": 0.9}),
            "adam": (tf.keras.optimizers.Adam, {"learning_rate": 0.01}),
        }


class JAX:
    """d2lx's functional form of the book's cells: the gradients come in, new parameters and states go out."""

    backend = "jax"

    @staticmethod
    def scratch(d2l) -> dict:
        from jax import numpy as jnp

        def sgd(params, grads, states, hyperparams):
            return [p - hyperparams["lr"] * g for p, g in zip(params, grads)], states

        def init_momentum_states(feature_dim):
            v_w = d2l.zeros((feature_dim, 1))
            v_b = d2l.zeros(1)
            return (v_w, v_b)

        def sgd_momentum(params, grads, states, hyperparams):
            new_params, new_states = [], []
            for p, g, v in zip(params, grads, states):
                v = hyperparams["momentum"] * v + g
                new_params.append(p - hyperparams["lr"] * v)
                new_states.append(v)
            return new_params, new_states

        def init_adagrad_states(feature_dim):
            s_w = d2l.zeros((feature_dim, 1))
            s_b = d2l.zeros(1)
            return (s_w, s_b)

        def adagrad(params, grads, states, hyperparams):
            eps = 1e-6
            new_params, new_states = [], []
            for p, g, s in zip(params, grads, states):
                s = s + jnp.square(g)
                new_params.append(p - hyperparams["lr"] * g / jnp.sqrt(s + eps))
                new_states.append(s)
            return new_params, new_states

        def init_rmsprop_states(feature_dim):
            s_w = d2l.zeros((feature_dim, 1))
            s_b = d2l.zeros(1)
            return (s_w, s_b)

        def rmsprop(params, grads, states, hyperparams):
            gamma, eps = hyperparams["gamma"], 1e-6
            new_params, new_states = [], []
            for p, g, s in zip(params, grads, states):
                s = gamma * s + (1 - gamma) * jnp.square(g)
                new_params.append(p - hyperparams["lr"] * g / jnp.sqrt(s + eps))
                new_states.append(s)
            return new_params, new_states

        def init_adadelta_states(feature_dim):
            s_w, s_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            delta_w, delta_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            return ((s_w, delta_w), (s_b, delta_b))

        def adadelta(params, grads, states, hyperparams):
            rho, eps = hyperparams["rho"], 1e-5
            new_params, new_states = [], []
            for p, grad, (s, delta) in zip(params, grads, states):
                s = rho * s + (1 - rho) * jnp.square(grad)
                g = (jnp.sqrt(delta + eps) / jnp.sqrt(s + eps)) * grad
                new_params.append(p - g)
                new_states.append((s, rho * delta + (1 - rho) * g * g))
            return new_params, new_states

        def init_adam_states(feature_dim):
            v_w, v_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            s_w, s_b = d2l.zeros((feature_dim, 1)), d2l.zeros(1)
            return ((v_w, s_w), (v_b, s_b))

        def adam(params, grads, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-6
            new_params, new_states = [], []
            for p, g, (v, s) in zip(params, grads, states):
                v = beta1 * v + (1 - beta1) * g
                s = beta2 * s + (1 - beta2) * jnp.square(g)
                v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                new_params.append(p - hyperparams["lr"] * v_bias_corr / (jnp.sqrt(s_bias_corr) + eps))
                new_states.append((v, s))
            hyperparams["t"] += 1
            return new_params, new_states

        def yogi(params, grads, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-3
            new_params, new_states = [], []
            for p, g, (v, s) in zip(params, grads, states):
                v = beta1 * v + (1 - beta1) * g
                s = s + (1 - beta2) * jnp.sign(jnp.square(g) - s) * jnp.square(g)
                v_bias_corr = v / (1 - beta1 ** hyperparams["t"])
                s_bias_corr = s / (1 - beta2 ** hyperparams["t"])
                new_params.append(p - hyperparams["lr"] * v_bias_corr / (jnp.sqrt(s_bias_corr) + eps))
                new_states.append((v, s))
            hyperparams["t"] += 1
            return new_params, new_states

        return _sections(locals())

    @staticmethod
    def schedules(d2l) -> dict:
        """12.11 in d2lx's notebook: the book's first two classes, then Optax's schedules."""
        import optax

        return {
            **book_schedules(),
            "multi_factor": drawn(optax.piecewise_constant_schedule(0.5, {15: 0.5, 30: 0.5})),
            "cosine": drawn(optax.cosine_decay_schedule(0.3, decay_steps=20, alpha=0.01 / 0.3)),
            "warmup": drawn(
                optax.warmup_cosine_decay_schedule(
                    init_value=0.0, peak_value=0.3, warmup_steps=5, decay_steps=20, end_value=0.01
                )
            ),
        }

    @staticmethod
    def concise(d2l) -> dict:
        import optax

        return {
            "sgd": (optax.sgd, {"learning_rate": 0.05}),
            "momentum": (optax.sgd, {"learning_rate": 0.005, "momentum": 0.9}),
            "adagrad": (optax.adagrad, {"learning_rate": 0.1}),
            "rmsprop": (optax.rmsprop, {"learning_rate": 0.01, "decay": 0.9}),
            "adadelta": (optax.adadelta, {"learning_rate": 1.0, "rho": 0.9}),
            "adam": (optax.adam, {"learning_rate": 0.01}),
        }


def _sections(cells: dict) -> dict:
    """Each section's ``(trainer_fn, states, hyperparams)`` as its ``train_ch11`` cell passes them (minibatch
    SGD at the book's batch size 10: ``train_sgd(.05, 10)``)."""
    return {
        "sgd": (cells["sgd"], None, {'lr': 0.05}),
        "momentum": (cells["sgd_momentum"], cells["init_momentum_states"](FEATURE_DIM),
                     {'lr': 0.005, 'momentum': 0.9}),
        "adagrad": (cells["adagrad"], cells["init_adagrad_states"](FEATURE_DIM), {'lr': 0.1}),
        "rmsprop": (cells["rmsprop"], cells["init_rmsprop_states"](FEATURE_DIM), {'lr': 0.01, 'gamma': 0.9}),
        "adadelta": (cells["adadelta"], cells["init_adadelta_states"](FEATURE_DIM), {'rho': 0.9}),
        "adam": (cells["adam"], cells["init_adam_states"](FEATURE_DIM), {'lr': 0.01, 't': 1}),
        "yogi": (cells["yogi"], cells["init_adam_states"](FEATURE_DIM), {'lr': 0.01, 't': 1}),
    }  # fmt: skip


BOOKS = per_backend(Torch, MXNet, JAX, TensorFlow)


def book(d2l):
    """The book's chapter 12 cells for ``d2l``'s framework (the imported ``d2lx.<name>`` module)."""
    return BOOKS[backend_name(d2l)]
