"""``Trainer`` for TensorFlow: one epoch of ``tf.GradientTape`` and ``apply_gradients``, devices, clipping.

The training step is compiled with ``tf.function`` where that cannot change
what runs: when the model's ``training_step`` is d2lx's (the loss of a forward
pass; the plot of that loss stays in Python, after the step) and the optimizer
is a Keras one or d2lx's ``SGD``. A cell that replaces ``training_step``,
``clip_gradients`` or the optimizer gets the book's eager loop, as does a model
whose code TensorFlow cannot trace. The first batch of each ``fit`` always runs
eagerly: it builds lazily created layers and the optimizer's state.
``tf.config.run_functions_eagerly(True)`` runs everything eagerly, for debugging.
"""

from __future__ import annotations

import tensorflow as tf

from d2lx.module import ModuleBase
from d2lx.tensorflow import devices
from d2lx.tensorflow.optim import SGD
from d2lx.trainer import TrainerBase


class Trainer(TrainerBase):
    """``Trainer(max_epochs, num_gpus=0, gradient_clip_val=0)``; ``fit(model, data)`` trains."""

    _devices = devices

    def prepare_batch(self, batch):
        if self.gpus:
            with self.gpus[0]:
                batch = [tf.identity(a) for a in batch]
        return batch

    def fit_epoch(self):
        self.model.training = True
        for batch in self.train_dataloader:
            self._inspect_batch(batch, train=True)
            batch = self.prepare_batch(batch)
            loss = self._compiled_step(batch)
            if loss is None:  # the book's step, eagerly
                self._gradient_step(batch, self.model.training_step)
            else:
                self.model.plot("loss", loss, train=True)
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.training = False
        for batch in self.val_dataloader:
            self._inspect_batch(batch, train=False)
            self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def _gradient_step(self, batch, training_step):
        """``training_step(batch)`` under a ``GradientTape``, then one update of the trainable variables."""
        with tf.GradientTape() as tape:
            loss = training_step(batch)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss, variables)
        if self.gradient_clip_val > 0:
            grads = self.clip_gradients(self.gradient_clip_val, grads)
        self.optim.apply_gradients(zip(grads, variables))
        return loss

    def _parameter_arrays(self) -> list:
        return list(self.model.trainable_variables)

    def clip_gradients(self, grad_clip_val, grads):
        """``grads`` rescaled together so that their joint norm is at most ``grad_clip_val``."""
        clipped, _ = tf.clip_by_global_norm(grads, grad_clip_val)
        return clipped

    # --- the compiled step ------------------------------------------------------
    def _can_compile(self) -> bool:
        if type(self.model).training_step is not ModuleBase.training_step:
            return False
        if self.gradient_clip_val > 0 and type(self).clip_gradients is not _CLIP_GRADIENTS:
            return False
        if isinstance(self.optim, tf.keras.optimizers.Optimizer):
            return True
        return type(self.optim) is SGD and SGD.apply_gradients is _SGD_APPLY_GRADIENTS

    def _compiled_step(self, batch):
        """The loss of one compiled step on ``batch``, or None when this batch is to run eagerly."""
        state = self.__dict__.get("_compiled")
        if state is None or state[0] is not self.model or state[1] is not self.optim:  # a new fit
            self._compiled = (self.model, self.optim, self._compile_step() if self._can_compile() else None)
            return None
        step = state[2]
        if step is None:
            return None
        try:
            return step(*batch)
        except Exception:  # TensorFlow could not run the model's code as a graph: eagerly from now on
            self._compiled = (self.model, self.optim, None)
            return None

    def _compile_step(self):
        """``tf.function`` of one step of ``self.model`` with ``self.optim``: ``training_step`` without the plot."""
        model = self.model

        def unplotted_loss(batch):
            return model.loss(model(*batch[:-1]), batch[-1])

        def train_step(*batch):
            return self._gradient_step(batch, unplotted_loss)

        step = tf.function(train_step)
        # Each fit brings a new model and optimizer, so each fit traces anew: TensorFlow's warning
        # about a function "created repeatedly in a loop" would be a false alarm.
        step._omit_frequent_tracing_warning = True
        return step


_CLIP_GRADIENTS = Trainer.clip_gradients
_SGD_APPLY_GRADIENTS = SGD.apply_gradients
