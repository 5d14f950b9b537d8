"""One bad argument, one exact message, on every backend (the rules are written once, in ``d2lx.checks``).

Each row makes one of the chapter 3-5 classes with one bad argument, by the keywords the book
uses, which construct on every framework (JAX's models are dataclasses, the others take
``__init__`` arguments), and gives the error it must raise and its whole message.
"""

from __future__ import annotations

import math

import pytest
from adapters import adapter

NAN = math.nan
INF = math.inf
W = [2.0, -3.4]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        # linear regression (chapter 3)
        (lambda d2l: d2l.LinearRegressionScratch(num_inputs=0, lr=0.03), ValueError,
         "num_inputs must be a positive int, got 0"),
        (lambda d2l: d2l.LinearRegressionScratch(num_inputs=2.5, lr=0.03), TypeError,
         "num_inputs must be a positive int, got 2.5"),
        (lambda d2l: d2l.LinearRegressionScratch(num_inputs=2, lr=-0.1), ValueError,
         "lr must be a positive number, got -0.1"),
        (lambda d2l: d2l.LinearRegressionScratch(num_inputs=2, lr=0.03, sigma=-1), ValueError,
         "sigma must be a non-negative number, got -1"),
        (lambda d2l: d2l.LinearRegressionScratch(num_inputs=2, lr=0.03, sigma=NAN), ValueError,
         "sigma must be a non-negative number, got nan"),
        (lambda d2l: d2l.LinearRegression(lr=0), ValueError, "lr must be a positive number, got 0"),
        (lambda d2l: d2l.LinearRegression(lr=NAN), ValueError, "lr must be a positive number, got nan"),
        (lambda d2l: d2l.LinearRegression(lr="0.03"), TypeError, "lr must be a positive number, got '0.03' (str)"),
        # non-finite numbers (issue 19): inf passes "positive", NaN fails every comparison
        (lambda d2l: d2l.LinearRegressionScratch(num_inputs=2, lr=INF), ValueError,
         "lr must be a positive number, got inf"),
        (lambda d2l: d2l.LinearRegression(lr=INF), ValueError, "lr must be a positive number, got inf"),
        (lambda d2l: d2l.LinearRegressionScratch(num_inputs=2, lr=0.03, sigma=INF), ValueError,
         "sigma must be a non-negative number, got inf"),
        # softmax regression (chapter 4)
        (lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1, sigma=-1), ValueError,
         "sigma must be a non-negative number, got -1"),
        (lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1, sigma="0.01"), TypeError,
         "sigma must be a non-negative number, got '0.01' (str)"),
        (lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=-784, num_outputs=10, lr=0.1), ValueError,
         "num_inputs must be a positive int, got -784"),
        (lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=True, lr=0.1), TypeError,
         "num_outputs must be a positive int, got True (bool)"),
        (lambda d2l: d2l.SoftmaxRegression(num_outputs=0, lr=0.1), ValueError,
         "num_outputs must be a positive int, got 0"),
        (lambda d2l: d2l.SoftmaxRegression(num_outputs=10, lr=-1), ValueError, "lr must be a positive number, got -1"),
        # sigma=-1 used to reach torch.normal (a raw RuntimeError), or pass silently after set_seed
        (lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1, sigma=NAN), ValueError,
         "sigma must be a non-negative number, got nan"),
        (lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=INF), ValueError,
         "lr must be a positive number, got inf"),
        (lambda d2l: d2l.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=NAN), ValueError,
         "lr must be a positive number, got nan"),
        (lambda d2l: d2l.SoftmaxRegression(num_outputs=10, lr=INF), ValueError,
         "lr must be a positive number, got inf"),
        # multilayer perceptrons (chapter 5)
        (lambda d2l: d2l.MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=0, lr=0.1), ValueError,
         "num_hiddens must be a positive int, got 0"),
        (lambda d2l: d2l.MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1, sigma=-0.5), ValueError,
         "sigma must be a non-negative number, got -0.5"),
        (lambda d2l: d2l.MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=NAN), ValueError,
         "lr must be a positive number, got nan"),
        (lambda d2l: d2l.MLP(num_outputs=10, num_hiddens=256.0, lr=0.1), TypeError,
         "num_hiddens must be a positive int, got 256.0"),
        (lambda d2l: d2l.MLP(num_outputs=-10, num_hiddens=256, lr=0.1), ValueError,
         "num_outputs must be a positive int, got -10"),
        # dropout (chapter 5)
        (lambda d2l: d2l.DropoutMLPScratch(num_outputs=10, num_hiddens_1=0, num_hiddens_2=256, dropout_1=0.5,
                                           dropout_2=0.5, lr=0.1), ValueError,
         "num_hiddens_1 must be a positive int, got 0"),
        (lambda d2l: d2l.DropoutMLPScratch(num_outputs=10, num_hiddens_1=256, num_hiddens_2=256, dropout_1=-0.1,
                                           dropout_2=0.5, lr=0.1), ValueError,
         "dropout_1 must be a number in [0, 1], got -0.1"),
        (lambda d2l: d2l.DropoutMLPScratch(num_outputs=10, num_hiddens_1=256, num_hiddens_2=256, dropout_1=0.5,
                                           dropout_2=NAN, lr=0.1), ValueError,
         "dropout_2 must be a number in [0, 1], got nan"),
        (lambda d2l: d2l.DropoutMLP(num_outputs=10, num_hiddens_1=256, num_hiddens_2=-1, dropout_1=0.5,
                                    dropout_2=0.5, lr=0.1), ValueError,
         "num_hiddens_2 must be a positive int, got -1"),
        (lambda d2l: d2l.DropoutMLP(num_outputs=10, num_hiddens_1=256, num_hiddens_2=256, dropout_1=0.5,
                                    dropout_2=1.5, lr=0.1), ValueError,
         "dropout_2 must be a number in [0, 1], got 1.5"),
        (lambda d2l: d2l.DropoutMLP(num_outputs=10, num_hiddens_1=256, num_hiddens_2=256, dropout_1="half",
                                    dropout_2=0.5, lr=0.1), TypeError,
         "dropout_1 must be a number in [0, 1], got 'half' (str)"),
        (lambda d2l: d2l.DropoutMLP(num_outputs=10, num_hiddens_1=256, num_hiddens_2=256, dropout_1=0.5,
                                    dropout_2=0.5, lr=0), ValueError,
         "lr must be a positive number, got 0"),
        # weight decay (chapter 3)
        (lambda d2l: d2l.WeightDecayScratch(num_inputs=200, lambd=-1, lr=0.01), ValueError,
         "lambd must be a non-negative number, got -1"),
        (lambda d2l: d2l.WeightDecayScratch(num_inputs=200, lambd=NAN, lr=0.01), ValueError,
         "lambd must be a non-negative number, got nan"),
        (lambda d2l: d2l.WeightDecayScratch(num_inputs=200, lambd=3, lr=0.01, sigma=-1), ValueError,
         "sigma must be a non-negative number, got -1"),
        (lambda d2l: d2l.WeightDecayScratch(num_inputs=0, lambd=3, lr=0.01), ValueError,
         "num_inputs must be a positive int, got 0"),
        (lambda d2l: d2l.WeightDecay(wd=-3, lr=0.01), ValueError, "wd must be a non-negative number, got -3"),
        (lambda d2l: d2l.WeightDecay(wd=None, lr=0.01), TypeError,
         "wd must be a non-negative number, got None (NoneType)"),
        (lambda d2l: d2l.WeightDecay(wd=3, lr=-0.01), ValueError, "lr must be a positive number, got -0.01"),
        (lambda d2l: d2l.WeightDecay(wd=INF, lr=0.01), ValueError, "wd must be a non-negative number, got inf"),
        # the RNN from scratch (chapter 9)
        (lambda d2l: d2l.RNNScratch(num_inputs=0, num_hiddens=32), ValueError,
         "num_inputs must be a positive int, got 0"),
        (lambda d2l: d2l.RNNScratch(num_inputs=28, num_hiddens=32, sigma=-0.1), ValueError,
         "sigma must be a non-negative number, got -0.1"),
        (lambda d2l: d2l.RNNLMScratch(d2l.RNNScratch(28, 32), vocab_size=0), ValueError,
         "vocab_size must be a positive int, got 0"),
        (lambda d2l: d2l.RNNLMScratch(d2l.RNNScratch(28, 32), vocab_size=28.0), TypeError,
         "vocab_size must be a positive int, got 28.0"),
        (lambda d2l: d2l.RNNLMScratch(d2l.RNNScratch(28, 32), vocab_size=28, lr=0), ValueError,
         "lr must be a positive number, got 0"),
        # the concise RNNs (chapters 9-10)
        (lambda d2l: adapter(d2l).concise("RNN", 28, 0), ValueError, "num_hiddens must be a positive int, got 0"),
        (lambda d2l: adapter(d2l).concise("GRU", 28, 32, num_layers=0), ValueError,
         "num_layers must be a positive int, got 0"),
        (lambda d2l: adapter(d2l).concise("GRU", 28, 32, num_layers=2, dropout=1.0), ValueError,
         "dropout must be a number in [0, 1), got 1.0"),
        # data
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor(W), b=4.2, batch_size=0), ValueError,
         "batch_size must be a positive int, got 0"),
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor(W), b=4.2, num_train=0), ValueError,
         "num_train must be a positive int, got 0"),
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor(W), b=4.2, num_val=-1), ValueError,
         "num_val must be a non-negative int, got -1"),
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor(W), b=4.2, batch_size=32.0), TypeError,
         "batch_size must be a positive int, got 32.0"),
        (lambda d2l: d2l.SyntheticRegressionData(w=[NAN, 1.0], b=4.2), ValueError,
         "w must hold finite numbers, got nan at w[0]"),
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -INF]), b=4.2), ValueError,
         "w must hold finite numbers, got -inf at w[1]"),
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor(W), b=NAN), ValueError,
         "b must be a finite number, got nan"),
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor(W), b=INF), ValueError,
         "b must be a finite number, got inf"),
        (lambda d2l: d2l.SyntheticRegressionData(w=d2l.tensor(W), b=4.2, noise=INF), ValueError,
         "noise must be a non-negative number, got inf"),
        (lambda d2l: d2l.Data(num_train=20, num_val=100, num_inputs=0, batch_size=5), ValueError,
         "num_inputs must be a positive int, got 0"),
        (lambda d2l: d2l.FashionMNIST(batch_size=-5), ValueError, "batch_size must be a positive int, got -5"),
        (lambda d2l: d2l.FashionMNIST(batch_size="64"), TypeError, "batch_size must be a positive int, got '64' (str)"),
        (lambda d2l: d2l.FashionMNIST(resize=(32,)), ValueError,
         "resize must be two positive ints (height, width), got (32,) (tuple)"),
        (lambda d2l: d2l.FashionMNIST(resize=(0, 28)), ValueError,
         "resize must be two positive ints (height, width), got (0, 28) (tuple)"),
        (lambda d2l: d2l.FashionMNIST(resize="32"), ValueError,
         "resize must be two positive ints (height, width), got '32' (str)"),
        # the trainer
        (lambda d2l: d2l.Trainer(max_epochs=0), ValueError, "max_epochs must be a positive int, got 0"),
        (lambda d2l: d2l.Trainer(max_epochs=1.5), TypeError, "max_epochs must be a positive int, got 1.5"),
        (lambda d2l: d2l.Trainer(max_epochs=3, num_gpus=-1), ValueError, "num_gpus must be a non-negative int, got -1"),
        (lambda d2l: d2l.Trainer(max_epochs=3, gradient_clip_val=-1), ValueError,
         "gradient_clip_val must be a non-negative number, got -1"),
        (lambda d2l: d2l.Trainer(max_epochs=3, gradient_clip_val=NAN), ValueError,
         "gradient_clip_val must be a non-negative number, got nan"),
        (lambda d2l: d2l.Trainer(max_epochs=3, gradient_clip_val=INF), ValueError,
         "gradient_clip_val must be a non-negative number, got inf"),
    ],
)  # fmt: skip
def test_bad_argument_gives_its_exact_message(backend, make, error, message):
    with pytest.raises(error) as excinfo:
        make(backend)
    assert str(excinfo.value) == message
