"""Chapter 12 (Optimization Algorithms) for TensorFlow: what the framework decides in the chapter's loops.

``train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2)`` trains linear
regression from scratch on two ``tf.Variable``s: the mean loss is differentiated under a ``GradientTape``
and ``trainer_fn([w, b], [dw, db], states, hyperparams)`` updates the variables (``assign_sub``), as in the
book's TensorFlow tab; the gradients are computed by a ``tf.function``, the book's ``trainer_fn`` runs
eagerly (its Python state, Adam's ``hyperparams['t']``, must change each step).
``train_concise_ch11(trainer_fn, hyperparams, data_iter, num_epochs=2)`` makes the Keras optimizer
``trainer_fn(**hyperparams)`` (Keras 3 names the step size ``learning_rate``, which also takes a
``LearningRateSchedule``) and trains a ``Dense(1)`` layer on ``MeanSquaredError``, which has no factor 1/2,
so it reports half of it, as the book does; each step after the first (which builds the layer and the
optimizer's variables) runs as a ``tf.function``. The loop's bookkeeping and the data are the core's
(``d2lx.optimization``).
"""

from __future__ import annotations

import tensorflow as tf

from d2lx import checks
from d2lx.functional import linreg
from d2lx.optimization import check_ch11, fit_ch11, make_get_data_ch11
from d2lx.tensorflow.data import DataModule
from d2lx.tensorflow.functional import evaluate_loss, load_array, squared_loss

get_data_ch11 = make_get_data_ch11(DataModule, load_array)


def train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2):
    """Train ``linreg`` on ``data_iter`` with the book's ``trainer_fn(params, grads, states, hyperparams)``."""
    check_ch11(trainer_fn, hyperparams, "a function (params, grads, states, hyperparams) such as the book's sgd")
    feature_dim = checks.positive_int("feature_dim", feature_dim)
    w = tf.Variable(tf.random.normal(shape=(feature_dim, 1), mean=0, stddev=0.01), trainable=True)
    b = tf.Variable(tf.zeros(1), trainable=True)

    def net(X):
        return linreg(X, w, b)

    @tf.function(reduce_retracing=True)  # the gradients compiled; the book's trainer_fn runs eagerly
    def gradients(X, y):
        with tf.GradientTape() as tape:
            l = tf.math.reduce_mean(squared_loss(net(X), y))
        return tape.gradient(l, [w, b])

    def step(X, y):
        dw, db = gradients(X, y)
        trainer_fn([w, b], [dw, db], states, hyperparams)

    return fit_ch11(step, lambda data: evaluate_loss(net, data, squared_loss), data_iter, num_epochs)


def train_concise_ch11(trainer_fn, hyperparams, data_iter, num_epochs=2):
    """Train a ``Dense(1)`` layer on ``data_iter`` with the Keras optimizer ``trainer_fn(**hyperparams)``."""
    check_ch11(trainer_fn, hyperparams, "a Keras optimizer class such as tf.keras.optimizers.SGD")
    net = tf.keras.Sequential()
    net.add(tf.keras.layers.Dense(1, kernel_initializer=tf.random_normal_initializer(stddev=0.01)))
    optimizer = trainer_fn(**hyperparams)
    loss = tf.keras.losses.MeanSquaredError()

    def eager_step(X, y):
        with tf.GradientTape() as tape:
            out = net(X)
            l = loss(tf.reshape(y, tf.shape(out)), out)
        params = net.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(l, params), params))

    compiled = tf.function(eager_step, reduce_retracing=True)
    started = []

    def step(X, y):
        if not started:  # eagerly first: it builds the layer and the optimizer's variables
            started.append(True)
            return eager_step(X, y)
        return compiled(X, y)

    # MeanSquaredError has no factor 1/2: half of it is the squared loss of the from-scratch loop
    return fit_ch11(step, lambda data: evaluate_loss(net, data, loss) / 2, data_iter, num_epochs)
