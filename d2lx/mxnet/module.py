"""``Module`` and ``Classifier`` for MXNet: a ``gluon.Block`` that plots its own metrics.

MXNet models come in two kinds, and the book uses both: the concise ones hold
Gluon ``Parameter``s (``self.net = nn.Dense(1)``, found by ``collect_params()``),
the scratch ones hold bare arrays that called ``attach_grad()`` (``self.w``).
``parameters()`` returns whichever the model has, as d2l 1.0's MXNet code does,
so ``configure_optimizers`` and gradient clipping work for either.
"""

from __future__ import annotations

from mxnet import gluon, np, npx

from d2lx import checks, cnn
from d2lx.checks import CheckedHyperParameters
from d2lx.hparams import HyperParameters
from d2lx.module import ClassifierBase, ModuleBase
from d2lx.mxnet.optim import SGD


def _first_mismatch(block, filename) -> tuple[str, tuple, tuple] | None:
    """``(name, saved shape, block's shape)`` of the first parameter in the file ``filename`` whose saved
    shape contradicts ``block``'s (a size the block has not inferred yet takes the saved one); None if
    none does."""
    params = block._collect_params_with_prefix()
    for name, value in npx.load(filename).items():
        if name not in params:
            continue
        saved, own = tuple(value.shape), tuple(params[name].shape or ())
        expected = tuple(o if o > 0 else s for o, s in zip(own, saved)) if len(own) == len(saved) else own
        if expected != saved:
            return name, saved, expected
    return None


class Module(ModuleBase, gluon.Block, CheckedHyperParameters, HyperParameters):
    """The base of every model: ``loss``, ``forward``, ``training_step``, ``validation_step``,
    ``configure_optimizers``, as in d2l 1.0 (``ModuleBase``'s, ahead of ``gluon.Block``'s ``forward``)."""

    def configure_optimizers(self):
        """The scratch ``SGD`` for a scratch model, else ``gluon.Trainer`` with SGD, at ``self.lr``."""
        if not hasattr(self, "lr"):
            raise NotImplementedError(
                f"{type(self).__name__} has no lr: pass lr to __init__ and call self.save_hyperparameters(), "
                "or define configure_optimizers(self)"
            )
        params = self.parameters()
        if isinstance(params, list):
            return SGD(params, self.lr)
        return gluon.Trainer(params, "sgd", {"learning_rate": self.lr})

    # --- the two kinds of parameters -----------------------------------------
    def get_scratch_params(self) -> list:
        """The bare arrays this model (and any sub-``Module``, alone or in a list, as the book's MXNet
        ``StackedRNNScratch`` holds its layers) holds as attributes."""
        params = []
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                params.append(value)
            elif isinstance(value, Module):
                params.extend(value.get_scratch_params())
            elif isinstance(value, (list, tuple)):
                for element in value:
                    if isinstance(element, Module):
                        params.extend(element.get_scratch_params())
        return params

    def parameters(self):
        """Gluon's ``ParameterDict`` if the model has Gluon parameters, else ``get_scratch_params()``."""
        params = self.collect_params()
        if isinstance(params, gluon.ParameterDict) and len(params.keys()):
            return params
        return self.get_scratch_params()

    def set_scratch_params_device(self, device) -> None:
        """Move the bare-array parameters to ``device`` (an MXNet context), keeping their gradients."""
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray):
                moved = value.as_in_ctx(device)
                if moved is not value:
                    moved.attach_grad()
                    setattr(self, name, moved)
            elif isinstance(value, Module):
                value.set_scratch_params_device(device)
            elif isinstance(value, (list, tuple)):
                for element in value:
                    if isinstance(element, Module):
                        element.set_scratch_params_device(device)

    def initialize_missing(self, ctx=None) -> None:
        """Initialise, with MXNet's default initializer, the Gluon parameters no ``initialize()`` reached.

        The book's models call ``self.net.initialize(...)`` themselves; this
        only saves a model that forgot from MXNet's "has not been initialized".
        """
        # gluon's own collect_params: the book's scratch models override it to return a list
        for param in gluon.Block.collect_params(self).values():
            try:
                param.list_ctx()
            except RuntimeError:  # neither initialised nor waiting for its shape
                param.initialize(ctx=ctx)

    def load_parameters(self, filename, *args, **kwargs):
        """Gluon's ``load_parameters``, with the error that names a saved parameter of another shape
        (saved by a model built with other arguments, such as another ``num_classes``) worded as on
        every backend, with both shapes in full (Gluon writes -1 for a size not inferred yet)."""

        def load():
            return super(Module, self).load_parameters(filename, *args, **kwargs)

        return checks.loaded(self, "load_parameters", load, lambda: _first_mismatch(self, filename), (AssertionError,))

    def apply_init(self, inputs, init=None):
        """(Re-)initialise ``self.net`` (or, without ``net``, every layer of the model) with ``init``
        (an ``mxnet.init`` initializer such as ``init.Xavier()``), then run one forward pass on
        ``inputs`` so that parameters of deferred shape are created."""
        if init is not None:
            getattr(self, "net", self).initialize(init, force_reinit=True)
        self.forward(*inputs)


# Each MXNet operator call costs a dispatch (about 0.1 ms on two cores, as much as the step of softmax
# regression computes): the loss and accuracy reshape only where the shape needs it.
def _as_matrix(Y_hat):
    """``Y_hat`` as (examples, classes)."""
    return Y_hat if Y_hat.ndim == 2 else Y_hat.reshape((-1, Y_hat.shape[-1]))


def _as_vector(Y):
    """The labels ``Y`` as one flat vector."""
    return Y if Y.ndim == 1 else Y.reshape(-1)


class Classifier(ClassifierBase, Module):
    """A ``Module`` whose validation also reports accuracy; the loss is cross-entropy on logits."""

    _d2lx_image_layout = cnn.CHANNELS_FIRST  # how its CNNs take images (the trainer checks a learner's batches)

    def accuracy(self, Y_hat, Y, averaged: bool = True):
        """The fraction (or, with ``averaged=False``, the 0/1 per example) of correct predictions."""
        predictions = _as_matrix(Y_hat).argmax(axis=1).astype(Y.dtype)
        correct = (predictions == _as_vector(Y)).astype(np.float32)
        return correct.mean() if averaged else correct

    def loss(self, Y_hat, Y, averaged: bool = True):
        """Cross-entropy on logits: what ``gluon.loss.SoftmaxCrossEntropyLoss()`` computes (log-softmax, then
        the label's entry), as two operators. The book builds that Gluon block anew at every call, and
        its construction and dispatch were a fifth of a softmax-regression epoch (bench/RESULTS.md)."""
        l = -npx.pick(npx.log_softmax(_as_matrix(Y_hat), axis=-1), _as_vector(Y), axis=-1)
        return l.mean() if averaged else l

    def layer_summary(self, X_shape):
        """Print each layer of ``self.net`` with the shape of its output for a random ``X_shape`` batch (NCHW)."""
        X = np.random.randn(*cnn.summary_shape(self, X_shape, cnn.CHANNELS_FIRST))
        cnn.summarise(self, X_shape, self.net, X, channels_last=False)
